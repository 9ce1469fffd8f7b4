#include "sim_config.h"

#include <fstream>
#include <functional>
#include <sstream>

#include "common/json.h"

namespace su::sim {
namespace {

using Setter = std::function<bool(SimConfig&, const std::string&)>;

Setter text(std::string SimConfig::*field) {
  return [field](SimConfig& c, const std::string& v) {
    c.*field = v;
    return true;
  };
}

Setter number(int SimConfig::*field) {
  return [field](SimConfig& c, const std::string& v) {
    try {
      size_t used = 0;
      int n = std::stoi(v, &used);
      if (used != v.size()) return false;
      c.*field = n;
      return true;
    } catch (const std::exception&) {
      return false;
    }
  };
}

Setter list(std::vector<std::string> SimConfig::*field) {
  return [field](SimConfig& c, const std::string& v) {
    (c.*field).push_back(v);
    return true;
  };
}

Setter oneOf(std::string SimConfig::*field, std::vector<std::string> allowed) {
  return [field, allowed](SimConfig& c, const std::string& v) {
    for (const auto& a : allowed) {
      if (a == v) {
        c.*field = v;
        return true;
      }
    }
    return false;
  };
}

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> kSetters = {
      {"state_dir", text(&SimConfig::state_dir)},
      {"port", number(&SimConfig::port)},
      {"control_port", number(&SimConfig::control_port)},
      {"clientauth_port", number(&SimConfig::clientauth_port)},
      {"api_key", list(&SimConfig::api_keys)},
      {"account", list(&SimConfig::accounts)},
      {"max_name_length", number(&SimConfig::max_name_length)},
      {"max_page_size", number(&SimConfig::max_page_size)},
      {"threads", number(&SimConfig::threads)},
      {"api_prefix", text(&SimConfig::api_prefix)},
      {"token_field", text(&SimConfig::token_field)},
      {"token_shape", oneOf(&SimConfig::token_shape, {"string", "object"})},
      {"token_inner_field", text(&SimConfig::token_inner_field)},
      {"user_wrapper", text(&SimConfig::user_wrapper)},
      {"list_shape", oneOf(&SimConfig::list_shape, {"bare", "wrapped"})},
      {"list_key", text(&SimConfig::list_key)},
      {"offset_param", text(&SimConfig::offset_param)},
      {"limit_param", text(&SimConfig::limit_param)},
      {"duplicate_status", number(&SimConfig::duplicate_status)},
      {"error_shape", oneOf(&SimConfig::error_shape, {"object", "array"})},
      {"end_date_field", text(&SimConfig::end_date_field)},
      {"accounts_field", text(&SimConfig::accounts_field)},
      {"applications_field", text(&SimConfig::applications_field)},
      {"roles_field", text(&SimConfig::roles_field)},
      {"update_method", text(&SimConfig::update_method)},
      {"update_path", text(&SimConfig::update_path)},
      {"disable_method", text(&SimConfig::disable_method)},
      {"disable_path", text(&SimConfig::disable_path)},
      {"enable_method", text(&SimConfig::enable_method)},
      {"enable_path", text(&SimConfig::enable_path)},
      {"delete_method", text(&SimConfig::delete_method)},
      {"delete_path", text(&SimConfig::delete_path)},
      {"client_cert_path", text(&SimConfig::client_cert_path)},
      {"client_cert_user_field", text(&SimConfig::client_cert_user_field)},
      {"client_cert_csr_field", text(&SimConfig::client_cert_csr_field)},
      {"client_cert_name_field", text(&SimConfig::client_cert_name_field)},
      {"client_cert_end_date_field", text(&SimConfig::client_cert_end_date_field)},
  };
  return kSetters;
}

Status apply(SimConfig& config, const std::string& key, const std::string& value) {
  auto it = setters().find(key);
  if (it == setters().end()) return makeError(ErrorKind::kInvalid, "unknown setting " + key);
  if (!it->second(config, value)) return makeError(ErrorKind::kInvalid, "bad value for " + key);
  return Status::success();
}

Status applyFile(SimConfig& config, const std::string& path) {
  std::ifstream in(path);
  if (!in) return makeError(ErrorKind::kInvalid, "cannot read config file " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto parsed = json::parse(buffer.str(), "the config file");
  if (!parsed) return parsed.error();
  if (!parsed->is_object()) return makeError(ErrorKind::kInvalid, "config file is not an object");
  for (const auto& [key, value] : parsed->items()) {
    std::vector<json::Json> values =
        value.is_array() ? value.get<std::vector<json::Json>>() : std::vector<json::Json>{value};
    for (const auto& v : values) {
      std::string text = v.is_string() ? v.get<std::string>() : v.dump();
      Status s = apply(config, key == "api_keys" ? "api_key" : key, text);
      if (!s) return s;
    }
  }
  return Status::success();
}

std::string keyOf(std::string flag) {
  flag = flag.substr(2);
  for (char& c : flag) c = c == '-' ? '_' : c;
  return flag;
}

}  // namespace

Result<SimConfig> parseConfig(int argc, char** argv) {
  SimConfig config;
  std::vector<std::pair<std::string, std::string>> flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) return makeError(ErrorKind::kInvalid, "unexpected argument");
    std::string value;
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return makeError(ErrorKind::kInvalid, "flag " + arg + " needs a value");
    }
    flags.emplace_back(keyOf(arg), value);
  }
  for (const auto& [key, value] : flags) {
    if (key != "config") continue;
    Status s = applyFile(config, value);
    if (!s) return s.error();
  }
  for (const auto& [key, value] : flags) {
    if (key == "config") continue;
    Status s = apply(config, key, value);
    if (!s) return s.error();
  }
  if (config.state_dir.empty()) return makeError(ErrorKind::kInvalid, "--state-dir is required");
  if (config.max_page_size <= 0) return makeError(ErrorKind::kInvalid, "bad --max-page-size");
  return config;
}

std::string usage() {
  std::string out =
      "usage: digicert-sim --state-dir DIR [--config FILE] [--port N] [--control-port N]\n"
      "       [--clientauth-port N] [--api-key KEY]... [--account ID]... [settings]\n"
      "settings (see README.md):";
  for (const auto& [key, setter] : setters()) {
    std::string flag = key;
    for (char& c : flag) c = c == '_' ? '-' : c;
    out += " --" + flag;
  }
  return out + "\n";
}

}  // namespace su::sim
