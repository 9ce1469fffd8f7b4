#include "common/time_format.h"

#include <cctype>
#include <charconv>
#include <cstdio>

namespace su {
namespace {

using std::chrono::days;
using std::chrono::seconds;
using std::chrono::sys_days;

std::optional<int> readInt(std::string_view text, size_t pos, size_t len) {
  if (pos + len > text.size()) return std::nullopt;
  int value = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

std::optional<Date> readDate(std::string_view text) {
  auto y = readInt(text, 0, 4), m = readInt(text, 5, 2), d = readInt(text, 8, 2);
  if (!y || !m || !d || text[4] != '-' || text[7] != '-') return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year(*y), std::chrono::month(*m),
                                  std::chrono::day(*d)};
  if (!ymd.ok()) return std::nullopt;
  return Date{*y, static_cast<unsigned>(*m), static_cast<unsigned>(*d)};
}

}  // namespace

std::string formatRfc3339(TimePoint t) {
  auto secs = std::chrono::floor<seconds>(t);
  auto day = std::chrono::floor<days>(secs);
  std::chrono::year_month_day ymd{day};
  std::chrono::hh_mm_ss hms{secs - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                static_cast<long>(hms.seconds().count()));
  return buf;
}

std::optional<TimePoint> parseRfc3339(std::string_view text) {
  if (text.size() < 20 || (text[10] != 'T' && text[10] != 't')) return std::nullopt;
  auto date = readDate(text.substr(0, 10));
  auto hh = readInt(text, 11, 2), mm = readInt(text, 14, 2), ss = readInt(text, 17, 2);
  if (!date || !hh || !mm || !ss || text[13] != ':' || text[16] != ':') return std::nullopt;
  if (*hh > 23 || *mm > 59 || *ss > 60) return std::nullopt;
  size_t pos = 19;
  Duration fraction{};
  if (pos < text.size() && text[pos] == '.') {
    size_t start = ++pos;
    long long nanos = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (pos - start < 9) nanos = nanos * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == start) return std::nullopt;
    for (size_t digits = pos - start; digits < 9; ++digits) nanos *= 10;
    fraction = std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(nanos));
  }
  seconds offset{0};
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    auto oh = readInt(text, pos + 1, 2), om = readInt(text, pos + 4, 2);
    if (!oh || !om || text[pos + 3] != ':') return std::nullopt;
    offset = std::chrono::hours(*oh) + std::chrono::minutes(*om);
    if (text[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  TimePoint t = startOfDay(*date) + std::chrono::hours(*hh) + std::chrono::minutes(*mm) +
                seconds(*ss) + fraction;
  return t - offset;
}

std::string formatDate(Date d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
  return buf;
}

std::optional<Date> parseDate(std::string_view text) {
  if (text.size() != 10) return std::nullopt;
  return readDate(text);
}

Date dateOf(TimePoint t) {
  std::chrono::year_month_day ymd{std::chrono::floor<days>(t)};
  return Date{static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
              static_cast<unsigned>(ymd.day())};
}

TimePoint startOfDay(Date d) {
  sys_days day{std::chrono::year(d.year) / std::chrono::month(d.month) / std::chrono::day(d.day)};
  return TimePoint(day);
}

TimePoint endOfDay(Date d) { return startOfDay(d) + days(1) - seconds(1); }

std::optional<seconds> parseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text == "0") return seconds(0);
  long long total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    long long value = 0;
    auto [end, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data() + pos || value < 0) return std::nullopt;
    pos = static_cast<size_t>(end - text.data());
    if (pos >= text.size()) return std::nullopt;
    long long unit = 0;
    switch (text[pos]) {
      case 'h':
        unit = 3600;
        break;
      case 'm':
        unit = 60;
        break;
      case 's':
        unit = 1;
        break;
      default:
        return std::nullopt;
    }
    ++pos;
    if (value > (1LL << 40) / unit) return std::nullopt;
    total += value * unit;
  }
  return seconds(total);
}

std::string formatDuration(seconds d) {
  long long s = d.count();
  if (s == 0) return "0s";
  std::string out;
  if (s < 0) {
    out = "-";
    s = -s;
  }
  if (s >= 3600) out += std::to_string(s / 3600) + "h";
  if (s % 3600 >= 60) out += std::to_string((s % 3600) / 60) + "m";
  if (s % 60 != 0) out += std::to_string(s % 60) + "s";
  return out;
}

TimePoint floorSeconds(TimePoint t) { return std::chrono::floor<seconds>(t); }

}  // namespace su
