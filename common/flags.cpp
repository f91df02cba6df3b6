#include "flags.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace flags {

void Flags::add(std::string name, int64_t* value, std::string help) {
  bool port = name.size() >= 4 && name.compare(name.size() - 4, 4, "port") == 0;
  flags_.push_back(Flag{std::move(name), std::move(help), value, nullptr, nullptr,
                        port ? 65535 : INT64_MAX});
}
void Flags::add(std::string name, bool* value, std::string help) {
  flags_.push_back(Flag{std::move(name), std::move(help), nullptr, value, nullptr});
}
void Flags::add(std::string name, std::string* value, std::string help) {
  flags_.push_back(Flag{std::move(name), std::move(help), nullptr, nullptr, value});
}

void Flags::usage() const {
  std::printf("usage: %s [flags]\n%s\n\nflags:\n", program_.c_str(), summary_.c_str());
  for (const Flag& f : flags_) {
    std::string left = f.name;
    if (f.integer) left += " N";
    if (f.text) left += " TEXT";
    std::string def;
    if (f.integer) def = " (default " + std::to_string(*f.integer) + ")";
    if (f.text && !f.text->empty()) def = " (default " + *f.text + ")";
    std::printf("  %-22s %s%s\n", left.c_str(), f.help.c_str(), def.c_str());
  }
  std::printf("  %-22s %s\n", "--help", "print this help and exit");
}

void Flags::parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage();
      std::exit(0);
    }
    std::string_view inline_value;
    bool has_inline = false;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      inline_value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_inline = true;
    }
    const Flag* match = nullptr;
    for (const Flag& f : flags_)
      if (f.name == arg) match = &f;
    if (!match) {
      std::fprintf(stderr, "%s: unknown flag %s (see --help)\n", program_.c_str(),
                   argv[i]);
      std::exit(2);
    }
    if (match->boolean) {
      *match->boolean = true;
      continue;
    }
    std::string_view value = inline_value;
    if (!has_inline) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s: %s needs a value\n", program_.c_str(), argv[i]);
        std::exit(2);
      }
      value = argv[++i];
    }
    if (match->text) {
      *match->text = value;
      continue;
    }
    int64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n < 0) {
      std::fprintf(stderr, "%s: %s wants a non-negative whole number, not '%.*s'\n",
                   program_.c_str(), match->name.c_str(), (int)value.size(),
                   value.data());
      std::exit(2);
    }
    if (n > match->max) {
      std::fprintf(stderr, "%s: %s must be between 0 and %lld, not %lld\n",
                   program_.c_str(), match->name.c_str(), (long long)match->max,
                   (long long)n);
      std::exit(2);
    }
    *match->integer = n;
  }
}

}  // namespace flags
