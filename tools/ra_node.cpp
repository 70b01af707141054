// ra-node: one Ra node in the foreground (ra/node.hpp) from a JSON config, hosting the
// built-in machines it names. Logs to stderr; SIGTERM / SIGINT stop it cleanly; the
// servers in its data dir are restarted when it starts.
//
//   ra-node CONFIG.json [--port-file FILE] [--log-level LEVEL]
//
// Exit codes: 0 after a clean stop, 1 if the node did not start, 2 for a bad command
// line or config (with a message saying what is wrong).

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "ra/node.hpp"
#include "ra/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ra-node: runs one Ra node (a ra::system on the network) from a JSON config"};
  app.set_version_flag("--version", "ra-node " RA_VERSION_STRING);
  std::string config_path, port_file, log_level;
  app.add_option("config", config_path, "the node's JSON config (format: include/ra/node.hpp, README)")->required();
  app.add_option("--port-file", port_file, "write the listen port there once published (overrides port_file)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off (overrides log_level)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto cfg = ra::load_node_config(config_path);
  if (!cfg) {
    std::fprintf(stderr, "ra-node: %s\n", cfg.error().c_str());
    return 2;
  }
  if (!port_file.empty()) cfg->port_file = port_file;
  if (!log_level.empty()) cfg->log.level = log_level;
  if (auto logging = ra::validate(cfg->log); !logging) {
    std::fprintf(stderr, "ra-node: %s\n", logging.error().c_str());
    return 2;
  }
  return ra::run_node(std::move(*cfg));
}
