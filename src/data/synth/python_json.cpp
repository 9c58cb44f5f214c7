#include "data/synth/python_json.h"

#include <zlib.h>

#include <charconv>
#include <cmath>
#include <cstdio>

#include "rsd/util/error.h"

namespace rsd::data::synth {
namespace {

void append_string(std::string& out, const std::string& text) {
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
          // ensure_ascii=True; the generator only writes ASCII, so one byte is one code point.
          char buffer[8];
          std::snprintf(buffer, sizeof(buffer), "\\u%04x", static_cast<unsigned char>(c));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void dump(std::string& out, const nlohmann::ordered_json& value, int indent, int depth) {
  const auto newline = [&](int level) {
    out += '\n';
    out.append(static_cast<std::size_t>(indent * level), ' ');
  };
  switch (value.type()) {
    case nlohmann::ordered_json::value_t::null: out += "null"; break;
    case nlohmann::ordered_json::value_t::boolean: out += value.get<bool>() ? "true" : "false"; break;
    case nlohmann::ordered_json::value_t::number_integer:
      out += std::to_string(value.get<int64_t>());
      break;
    case nlohmann::ordered_json::value_t::number_unsigned:
      out += std::to_string(value.get<uint64_t>());
      break;
    case nlohmann::ordered_json::value_t::number_float:
      out += python_float_repr(value.get<double>());
      break;
    case nlohmann::ordered_json::value_t::string: append_string(out, value.get_ref<const std::string&>()); break;
    case nlohmann::ordered_json::value_t::array: {
      if (value.empty()) {
        out += "[]";
        break;
      }
      out += '[';
      bool first = true;
      for (const auto& element : value) {
        if (!first) out += ',';
        first = false;
        newline(depth + 1);
        dump(out, element, indent, depth + 1);
      }
      newline(depth);
      out += ']';
      break;
    }
    case nlohmann::ordered_json::value_t::object: {
      if (value.empty()) {
        out += "{}";
        break;
      }
      out += '{';
      bool first = true;
      for (const auto& item : value.items()) {
        if (!first) out += ',';
        first = false;
        newline(depth + 1);
        append_string(out, item.key());
        out += ": ";
        dump(out, item.value(), indent, depth + 1);
      }
      newline(depth);
      out += '}';
      break;
    }
    default:
      throw Error("python_json_dump: unsupported JSON value type");
  }
}

void append_le32(std::string& out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

}  // namespace

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  const std::string text(buffer, result.ptr);
  // text = [-]d[.ddd]e(+|-)XX: split into sign, digits and decimal exponent.
  std::size_t position = 0;
  std::string sign;
  if (text[0] == '-') {
    sign = "-";
    position = 1;
  }
  const std::size_t e = text.find('e');
  std::string digits;
  for (std::size_t i = position; i < e; ++i) {
    if (text[i] != '.') digits += text[i];
  }
  const int exponent = std::stoi(text.substr(e + 1));
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const int decimal_point = exponent + 1;  // value = 0.digits * 10^decimal_point
  std::string out = sign;
  if (decimal_point > -4 && decimal_point <= 16) {
    if (decimal_point <= 0) {
      out += "0.";
      out.append(static_cast<std::size_t>(-decimal_point), '0');
      out += digits;
    } else if (static_cast<std::size_t>(decimal_point) >= digits.size()) {
      out += digits;
      out.append(static_cast<std::size_t>(decimal_point) - digits.size(), '0');
      out += ".0";
    } else {
      out += digits.substr(0, static_cast<std::size_t>(decimal_point));
      out += '.';
      out += digits.substr(static_cast<std::size_t>(decimal_point));
    }
    return out;
  }
  out += digits[0];
  if (digits.size() > 1) {
    out += '.';
    out += digits.substr(1);
  }
  char exponent_text[16];
  std::snprintf(exponent_text, sizeof(exponent_text), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  out += exponent_text;
  return out;
}

std::string python_json_dump(const nlohmann::ordered_json& value, int indent) {
  std::string out;
  out.reserve(1 << 16);
  dump(out, value, indent, 0);
  return out;
}

std::string gzip_like_python(const std::string& contents, const std::string& inner_name) {
  std::string out;
  out += static_cast<char>(0x1f);
  out += static_cast<char>(0x8b);
  out += static_cast<char>(8);     // deflate
  out += static_cast<char>(0x08);  // FNAME
  append_le32(out, 0);             // MTIME: none, so that output is reproducible
  out += static_cast<char>(2);     // XFL: maximum compression (level 9)
  out += static_cast<char>(0xff);  // OS: unknown, as Python writes
  out += inner_name;
  out += '\0';

  z_stream stream{};
  if (deflateInit2(&stream, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw Error("gzip: deflateInit2 failed");
  }
  std::string compressed(deflateBound(&stream, static_cast<uLong>(contents.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(contents.data()));
  stream.avail_in = static_cast<uInt>(contents.size());
  stream.next_out = reinterpret_cast<Bytef*>(compressed.data());
  stream.avail_out = static_cast<uInt>(compressed.size());
  const int status = deflate(&stream, Z_FINISH);
  const std::size_t produced = stream.total_out;
  deflateEnd(&stream);
  if (status != Z_STREAM_END) throw Error("gzip: deflate did not finish");
  out.append(compressed.data(), produced);

  const uLong crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(contents.data()),
                          static_cast<uInt>(contents.size()));
  append_le32(out, static_cast<uint32_t>(crc));
  append_le32(out, static_cast<uint32_t>(contents.size() & 0xffffffffu));
  return out;
}

}  // namespace rsd::data::synth
