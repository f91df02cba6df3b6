// Fuzz target: the log reader (common/store.h) and the Journal that reads a log
// back into its rooms (common/chat.h). Any file, random or a real log cut short,
// is read without a crash; either the start is refused with a reason, or every
// message read back is one that a whole, CRC-checked record in the file holds,
// exactly as the server writes it, and reading the file again gives the same.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/chat.h"
#include "common/loop.h"
#include "common/store.h"

namespace {

std::string log_path() {
  static std::string path = [] {
    char dir[] = "/tmp/fuzz-store-XXXXXX";
    return std::string(::mkdtemp(dir)) + "/chat.log";
  }();
  return path;
}

// Every message of every room, framed as the server frames them.
std::vector<std::string> read_back(const std::string& path, std::string& error) {
  loop::Loop loop;
  chat::Journal journal(loop, 1000);
  error = journal.open(chat::StoreOptions{path, "off"});
  std::vector<std::string> records;
  if (!error.empty()) return records;
  for (const char* name : {"", "general", "random"})
    for (const chat::Message* m : journal.room(name).after(0).messages)
      records.push_back(store::frame(chat::record_json(name, *m)));
  return records;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string path = log_path();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(in.data(), static_cast<std::streamsize>(in.size()));
  }
  std::string error;
  std::vector<std::string> records = read_back(path, error);
  if (!error.empty()) {
    if (error.find(path) == std::string::npos) std::abort();  // names the file
    return 0;
  }
  for (const std::string& record : records)
    if (in.find(record) == std::string_view::npos) std::abort();  // a wrong message
  // The torn tail was cut: a second start reads the same, and cuts nothing.
  std::string again_error;
  if (read_back(path, again_error) != records || !again_error.empty()) std::abort();
  ::unlink(path.c_str());
  return 0;
}
