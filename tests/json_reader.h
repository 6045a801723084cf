// A small JSON reader for tests that read back what gclab writes (Chrome traces, heap
// snapshots): strict about the grammar (no trailing commas, no control characters in
// strings, only the escapes JSON has; \u escapes are decoded to UTF-8), and written
// for these tests rather than taken from the code under test.
#ifndef GCLAB_TESTS_JSON_READER_H_
#define GCLAB_TESTS_JSON_READER_H_

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace gclab::testing {

struct Json {
  std::variant<std::nullptr_t, bool, double, std::string, std::vector<Json>,
               std::map<std::string, Json>>
      value;
  const std::map<std::string, Json>& object() const {
    return std::get<std::map<std::string, Json>>(value);
  }
  const Json* get(const std::string& key) const {
    auto it = object().find(key);
    return it == object().end() ? nullptr : &it->second;
  }
  const std::vector<Json>& array() const { return std::get<std::vector<Json>>(value); }
  double number() const { return std::get<double>(value); }
  const std::string& string() const { return std::get<std::string>(value); }
};

class JsonReader {
 public:
  explicit JsonReader(std::string text) : s_(std::move(text)) {}
  bool Read(Json* out) {
    if (!Value(out)) return false;
    Space();
    return i_ == s_.size();
  }
  // The JSON array format of a trace may end without its closing bracket.
  bool ReadTrace(Json* out) {
    Space();
    if (!Eat('[')) return false;
    std::vector<Json> items;
    for (;;) {
      Space();
      if (i_ == s_.size() || Eat(']')) break;
      Json item;
      if (!Value(&item)) return false;
      items.push_back(std::move(item));
      Space();
      if (!Eat(',') && !(Space(), i_ == s_.size() || s_[i_] == ']')) return false;
    }
    Space();
    out->value = std::move(items);
    return i_ == s_.size();
  }
  size_t position() const { return i_; }

 private:
  void Space() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool Eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool Literal(const char* word) {
    const std::string w = word;
    if (s_.compare(i_, w.size(), w) != 0) return false;
    i_ += w.size();
    return true;
  }
  bool String(std::string* out) {
    if (!Eat('"')) return false;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\') {
        if (++i_ == s_.size()) return false;
        const char c = s_[i_++];
        switch (c) {
          case '"': case '\\': case '/': out->push_back(c); break;
          case 'b': out->push_back('\b'); break;
          case 'f': out->push_back('\f'); break;
          case 'n': out->push_back('\n'); break;
          case 'r': out->push_back('\r'); break;
          case 't': out->push_back('\t'); break;
          case 'u': {
            uint32_t code;
            if (!Hex4(&code)) return false;
            if (code >= 0xd800 && code < 0xdc00) {  // a surrogate pair
              uint32_t low;
              if (!Eat('\\') || !Eat('u') || !Hex4(&low) || low < 0xdc00 || low >= 0xe000) {
                return false;
              }
              code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
            } else if (code >= 0xdc00 && code < 0xe000) {
              return false;
            }
            AppendUtf8(code, out);
            break;
          }
          default: return false;
        }
        continue;
      }
      if (static_cast<unsigned char>(s_[i_]) < 0x20) return false;
      out->push_back(s_[i_++]);
    }
    return Eat('"');
  }
  bool Hex4(uint32_t* out) {
    if (i_ + 4 > s_.size()) return false;
    *out = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      const int digit = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
      if (digit < 0) return false;
      *out = *out * 16 + static_cast<uint32_t>(digit);
    }
    return true;
  }
  static void AppendUtf8(uint32_t code, std::string* out) {
    if (code < 0x80) {
      out->push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (code >> 6)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
    } else if (code < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (code >> 12)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (code >> 18)));
      out->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
    }
  }
  bool Value(Json* out) {
    Space();
    if (i_ == s_.size()) return false;
    const char c = s_[i_];
    if (c == '{') {
      ++i_;
      std::map<std::string, Json> members;
      Space();
      if (!Eat('}')) {
        do {
          Space();
          std::string key;
          if (!String(&key)) return false;
          Space();
          if (!Eat(':')) return false;
          if (!Value(&members[key])) return false;
          Space();
        } while (Eat(','));
        if (!Eat('}')) return false;
      }
      out->value = std::move(members);
      return true;
    }
    if (c == '[') {
      ++i_;
      std::vector<Json> items;
      Space();
      if (!Eat(']')) {
        do {
          Json item;
          if (!Value(&item)) return false;
          items.push_back(std::move(item));
          Space();
        } while (Eat(','));
        if (!Eat(']')) return false;
      }
      out->value = std::move(items);
      return true;
    }
    if (c == '"') {
      std::string text;
      if (!String(&text)) return false;
      out->value = std::move(text);
      return true;
    }
    if (Literal("true")) return out->value = true, true;
    if (Literal("false")) return out->value = false, true;
    if (Literal("null")) return out->value = nullptr, true;
    const char* begin = s_.c_str() + i_;
    char* end = nullptr;
    const double number = std::strtod(begin, &end);
    if (end == begin) return false;
    i_ += static_cast<size_t>(end - begin);
    out->value = number;
    return true;
  }

  const std::string s_;
  size_t i_ = 0;
};

}  // namespace gclab::testing

#endif  // GCLAB_TESTS_JSON_READER_H_
