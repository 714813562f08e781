// Command as2gate is a self-hosted AS2 gateway: one binary that receives and
// sends AS2 messages and offers them to business systems.
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand of the as2gate binary.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the gateway: AS2 listener, admin listener, workers", runServe},
		{"station", "manage stations: our AS2 identities and their key pairs", runStation},
		{"partner", "manage trading partners", runPartner},
		{"cert", "manage certificates: list, import, generate, export", runCert},
		{"send", "queue files to send to a partner", runSend},
		{"message", "list and show messages; download their files and MDNs", runMessage},
		{"user", "manage the users of the REST API and the console", runUser},
		{"apikey", "manage the API keys of business systems", runAPIKey},
		{"login", "log in to a server's REST API: an access token for --server", runLogin},
		{"inspect", "show every layer of a captured AS2 message or MDN", runInspect},
		{"build", "write a signed/encrypted/compressed AS2 request for a file", runBuild},
		{"bench", "send N messages to an AS2 server and measure it", runBench},
		{"version", "print the version", runVersion},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			if err := c.run(args[1:], stdout, stderr); err != nil {
				switch err {
				case errUsage:
					return 2
				case errHelp:
					return 0
				}
				fmt.Fprintf(stderr, "as2gate %s: %v\n", c.name, err)
				return exitStatus(err)
			}
			return 0
		}
	}
	fmt.Fprintf(stderr, "as2gate: unknown command %q (see as2gate help)\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: as2gate COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'as2gate COMMAND --help' for a command's flags.")
}
