#include "common/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

namespace su::metrics {
namespace {

std::string escapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string formatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest exact form
  return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

std::string labelSet(const std::vector<std::string>& names, const std::vector<std::string>& values,
                     const std::string& extra = {}) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += (out.empty() ? "" : ",") + names[i] + "=\"" + escapeLabel(values[i]) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? "" : "{" + out + "}";
}

template <typename M>
void header(std::ostringstream& out, const Family<M>& f, const char* type) {
  out << "# HELP " << f.name() << " " << f.help() << "\n# TYPE " << f.name() << " " << type << "\n";
}

}  // namespace

void Counter::inc(double by) {
  double cur = value_.load();
  while (!value_.compare_exchange_weak(cur, cur + by)) {
  }
}

void Gauge::add(double by) {
  double cur = value_.load();
  while (!value_.compare_exchange_weak(cur, cur + by)) {
  }
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size(), 0) {}

void Histogram::observe(double v) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (v <= bounds_[i]) ++counts_[i];
  }
  ++count_;
  sum_ += v;
}

Histogram::Snapshot Histogram::snapshot() const {
  std::lock_guard lock(mu_);
  return Snapshot{bounds_, counts_, count_, sum_};
}

template <typename M>
M& Family<M>::labels(const std::vector<std::string>& values) {
  std::lock_guard lock(mu_);
  auto& slot = series_[values];
  if (!slot) {
    if constexpr (std::is_same_v<M, Histogram>) {
      slot = std::make_unique<M>(bounds_);
    } else {
      slot = std::make_unique<M>();
    }
  }
  return *slot;
}

template <typename M>
void Family<M>::remove(const std::vector<std::string>& values) {
  std::lock_guard lock(mu_);
  series_.erase(values);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Family<Counter>& Registry::counter(const std::string& name, const std::string& help,
                                   std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  auto& slot = counters_[name];
  if (!slot) slot = std::make_unique<Family<Counter>>(name, help, std::move(labels));
  return *slot;
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help,
                               std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  auto& slot = gauges_[name];
  if (!slot) slot = std::make_unique<Family<Gauge>>(name, help, std::move(labels));
  return *slot;
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                       std::vector<std::string> labels,
                                       std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto& slot = histograms_[name];
  if (!slot) {
    std::sort(bounds.begin(), bounds.end());
    slot = std::make_unique<Family<Histogram>>(name, help, std::move(labels), std::move(bounds));
  }
  return *slot;
}

std::string Registry::expose() const {
  std::lock_guard lock(mu_);
  std::ostringstream out;
  for (const auto& [name, f] : counters_) {
    header(out, *f, "counter");
    f->forEach([&](const auto& values, const Counter& c) {
      out << name << labelSet(f->labelNames(), values) << " " << formatValue(c.value()) << "\n";
    });
  }
  for (const auto& [name, f] : gauges_) {
    header(out, *f, "gauge");
    f->forEach([&](const auto& values, const Gauge& g) {
      out << name << labelSet(f->labelNames(), values) << " " << formatValue(g.value()) << "\n";
    });
  }
  for (const auto& [name, f] : histograms_) {
    header(out, *f, "histogram");
    f->forEach([&](const auto& values, const Histogram& h) {
      Histogram::Snapshot s = h.snapshot();
      for (size_t i = 0; i < s.bounds.size(); ++i) {
        out << name << "_bucket"
            << labelSet(f->labelNames(), values, "le=\"" + formatValue(s.bounds[i]) + "\"") << " "
            << s.counts[i] << "\n";
      }
      out << name << "_bucket" << labelSet(f->labelNames(), values, "le=\"+Inf\"") << " " << s.count
          << "\n";
      out << name << "_sum" << labelSet(f->labelNames(), values) << " " << formatValue(s.sum)
          << "\n";
      out << name << "_count" << labelSet(f->labelNames(), values) << " " << s.count << "\n";
    });
  }
  return out.str();
}

Registry& defaultRegistry() {
  static Registry* r = new Registry();
  return *r;
}

}  // namespace su::metrics
