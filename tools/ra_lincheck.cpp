// ra-lincheck: checks Jepsen register histories for linearizability.
//
//   ra-lincheck [--timeout SECONDS] FILE...
//
// Prints one line per file on stdout: `FILE linearizable`, `FILE not-linearizable`,
// `FILE timeout` or `FILE error: MESSAGE`.
// Exit status: 0 every file was checked (whatever the verdicts), 1 usage error,
// 2 some file could not be read or parsed, 3 some check timed out (and none errored).

#include <cmath>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "lincheck/checker.hpp"
#include "lincheck/history.hpp"
#include "ra/version.hpp"

namespace {

constexpr int exit_all_checked = 0;
constexpr int exit_usage = 1;
constexpr int exit_file_error = 2;
constexpr int exit_timeout = 3;

void print_usage(std::ostream& out) {
  out << "usage: ra-lincheck [--timeout SECONDS] FILE...\n"
         "       ra-lincheck --version\n"
         "Checks each Jepsen register history (read/write/cas on one register) for\n"
         "linearizability and prints `FILE linearizable|not-linearizable|timeout` or\n"
         "`FILE error: MESSAGE`.\n"
         "  --timeout SECONDS  give up on a file after this long (default 60, 'inf' = never)\n"
         "Exit status: 0 all files checked, 1 usage error, 2 unreadable or malformed file,\n"
         "3 a check timed out.\n";
}

struct arguments {
  ra::lincheck::check_options options;
  std::vector<std::string> files;
};

/// Parses a positive number of seconds ("inf" allowed); false if it is not one.
bool parse_seconds(const std::string& text, double& seconds) {
  try {
    std::size_t used = 0;
    seconds = std::stod(text, &used);
    return used == text.size() && seconds > 0 && !std::isnan(seconds);
  } catch (const std::exception&) {
    return false;
  }
}

/// False on a usage error, after printing what was wrong.
bool parse_arguments(int argc, char** argv, arguments& args, bool& help_requested, bool& version_requested) {
  bool options_ended = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (options_ended || arg.empty() || arg[0] != '-' || arg == "-") {
      args.files.push_back(arg);
    } else if (arg == "--") {
      options_ended = true;
    } else if (arg == "-h" || arg == "--help") {
      help_requested = true;
      return true;
    } else if (arg == "--version") {
      version_requested = true;
      return true;
    } else if (arg == "--timeout" || arg.starts_with("--timeout=")) {
      std::string value;
      if (arg == "--timeout") {
        if (i + 1 >= argc) {
          std::cerr << "ra-lincheck: --timeout needs a value\n";
          return false;
        }
        value = argv[++i];
      } else {
        value = arg.substr(std::string_view("--timeout=").size());
      }
      if (!parse_seconds(value, args.options.timeout_seconds)) {
        std::cerr << "ra-lincheck: --timeout wants a positive number of seconds, got '"
                  << value << "'\n";
        return false;
      }
    } else {
      std::cerr << "ra-lincheck: unknown option '" << arg << "'\n";
      return false;
    }
  }
  if (args.files.empty()) {
    std::cerr << "ra-lincheck: no history files given\n";
    return false;
  }
  return true;
}

enum class file_outcome { checked, error, timeout };

file_outcome check_file(const std::string& path, const ra::lincheck::check_options& options) {
  std::error_code ignored;  // a path that cannot be inspected fails to open just below
  if (std::filesystem::is_directory(path, ignored)) {
    std::cout << path << " error: is a directory" << std::endl;
    return file_outcome::error;
  }
  std::ifstream in(path);
  if (!in) {
    std::cout << path << " error: cannot open file" << std::endl;
    return file_outcome::error;
  }
  std::string parse_error;
  const auto history = ra::lincheck::parse_jepsen(in, &parse_error);
  if (!history) {
    std::cout << path << " error: " << parse_error << std::endl;
    return file_outcome::error;
  }
  try {
    const ra::lincheck::verdict result = ra::lincheck::check_register(*history, options);
    // Flushed per file so that progress is visible on long runs.
    std::cout << path << ' ' << ra::lincheck::to_string(result) << std::endl;
    return result == ra::lincheck::verdict::timeout ? file_outcome::timeout
                                                    : file_outcome::checked;
  } catch (const std::invalid_argument& malformed) {
    // Well-formed lines that do not make a history (e.g. a completion without an invoke).
    std::cout << path << " error: " << malformed.what() << std::endl;
    return file_outcome::error;
  }
}

}  // namespace

int main(int argc, char** argv) {
  arguments args;
  bool help_requested = false, version_requested = false;
  if (!parse_arguments(argc, argv, args, help_requested, version_requested)) {
    print_usage(std::cerr);
    return exit_usage;
  }
  if (help_requested) {
    print_usage(std::cout);
    return exit_all_checked;
  }
  if (version_requested) {
    std::cout << "ra-lincheck " << ra::version() << "\n";
    return exit_all_checked;
  }

  bool any_error = false;
  bool any_timeout = false;
  for (const std::string& path : args.files) {
    switch (check_file(path, args.options)) {
      case file_outcome::checked: break;
      case file_outcome::error: any_error = true; break;
      case file_outcome::timeout: any_timeout = true; break;
    }
  }
  if (any_error) return exit_file_error;
  if (any_timeout) return exit_timeout;
  return exit_all_checked;
}
