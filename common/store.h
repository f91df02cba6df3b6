// An append-only log file, framed by hand: every record is one line,
//
//   0000003a 1c2b3d4e {"id":8,"user":"ada","text":"hi","time":1732280000000}\n
//   length   CRC-32C  payload (length bytes)                                  newline
//
// the length and the CRC-32C (Castagnoli) of the payload as 8 lowercase hex
// digits each, a space after each, the payload, a newline. The file stays text,
// so `tail` shows the latest records and `cut -c19- | jq` reads them.
//
// Crash rules (read_record() and scan() enforce them; README.md explains why):
// - a record counts only when its whole line is there and its CRC matches;
// - a bad record that is the file's last line is a torn write (the process or
//   the machine died mid-append): it is cut off, and the caller says how many
//   bytes went;
// - a bad record with more lines after it is damage, not a crash: scan()
//   refuses the whole file and names the offset. Nothing is silently skipped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace store {

// CRC-32C, the Castagnoli polynomial 0x1EDC6F41 (reflected: 0x82F63B78) that
// iSCSI uses (RFC 3720 §12.1). Check value: crc32c("123456789") == 0xE3069283.
uint32_t crc32c(std::string_view bytes, uint32_t crc = 0);

constexpr size_t kHeader = 18;  // "llllllll cccccccc "
constexpr size_t kMaxPayload = 1 << 20;

// One framed record: header, payload, newline.
std::string frame(std::string_view payload);

// The record at the start of bytes: done (size = bytes used), need more (the
// bytes end inside it), or error (reason says which rule it breaks).
struct ReadResult {
  enum class Status { done, need_more, error } status;
  size_t size = 0;
  std::string_view payload;
  std::string reason;
};
ReadResult read_record(std::string_view bytes);

struct Scan {
  struct Record {
    uint64_t offset;
    std::string_view payload;
  };
  std::vector<Record> records;
  uint64_t good = 0;  // bytes of whole, valid records from the start
  uint64_t torn = 0;  // bytes after them that are a torn last record
  std::string error;  // set for damage in the middle: the reason
  uint64_t error_offset = 0;
};
// Every record of a log's contents, by the crash rules above.
Scan scan(std::string_view bytes);

// The log file itself: opened for appending, read whole at start-up.
class File {
 public:
  File() = default;
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // Opens or creates path; contents receives what is in it. Error: a message.
  std::string open(const std::string& path, std::string& contents);
  bool is_open() const { return fd_ >= 0; }
  // Writes all of bytes at the end, or nothing: a failed or short write (disk
  // full) is cut back off, so the file never ends in half a record.
  std::string append(std::string_view bytes);
  std::string sync();  // fdatasync
  std::string truncate(uint64_t size);  // and fsync
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Replaces the file with contents, crash-safely: a temporary file beside it
  // is written and fsynced, renamed over it, and the directory is fsynced, so
  // after a crash the path holds either the old file or the new one.
  std::string replace(std::string_view contents);

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string path_;
};

// dir/name where dir is the running binary's directory (the build folder).
std::string beside_binary(const char* argv0, const std::string& name);
// 16 random hex digits, from /dev/urandom.
std::string random_id();

}  // namespace store
