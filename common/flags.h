// Command-line flags: every lesson takes --port, --trace and --help, plus its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flags {

class Flags {
 public:
  Flags(std::string program, std::string summary)
      : program_(std::move(program)), summary_(std::move(summary)) {}
  // A number flag whose name ends in "port" (--port) takes 0..65535 only: a TCP
  // port is 16 bits (RFC 9293 §3.1), and a larger one must not be cut silently.
  void add(std::string name, int64_t* value, std::string help);
  void add(std::string name, bool* value, std::string help);
  void add(std::string name, std::string* value, std::string help);
  // Exits 0 after printing help for --help, and 2 with a message for a bad flag.
  void parse(int argc, char** argv);

 private:
  struct Flag {
    std::string name, help;
    int64_t* integer = nullptr;
    bool* boolean = nullptr;
    std::string* text = nullptr;
    int64_t max = INT64_MAX;
  };
  void usage() const;
  std::string program_, summary_;
  std::vector<Flag> flags_;
};

}  // namespace flags
