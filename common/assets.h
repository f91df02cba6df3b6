// The page's files, compiled into each lesson's binary so that the server reads
// nothing from disk: there is no file system path a request could walk out of.
// The table is generated at build time by common/embed.cpp.
#pragma once

#include <string_view>

namespace assets {

struct Asset {
  std::string_view path;  // "/", "/chat.js", "/style.css", "/client.js"
  std::string_view content_type;
  std::string_view body;
};

// The file served at this exact path, or nullptr.
const Asset* find(std::string_view path);

}  // namespace assets
