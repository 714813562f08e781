package main

import (
	"cmp"
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/as2gate/as2gate/client"
)

func runLogin(args []string, stdout, stderr io.Writer) error {
	m := newCommand("login", "", "Logs in to the REST API of a server and prints an access token and a refresh token.\n"+
		"The password is $AS2GATE_PASSWORD, or else asked for. The other commands take the access token\n"+
		"with --token or $AS2GATE_TOKEN, and the server with --server or $AS2GATE_SERVER.", true, stdout, stderr)
	server := m.fs.String("server", "", "the server's admin `URL`, e.g. http://localhost:8080 (default $AS2GATE_SERVER)")
	username := m.fs.String("username", "", "the user's `name` (default $AS2GATE_USER)")
	if _, err := m.parse(args, 0); err != nil {
		return err
	}
	url, user := cmp.Or(*server, os.Getenv("AS2GATE_SERVER")), cmp.Or(*username, os.Getenv("AS2GATE_USER"))
	switch {
	case url == "":
		return &exitError{status: 2, err: errors.New("--server is required (or $AS2GATE_SERVER)")}
	case user == "":
		return &exitError{status: 2, err: errors.New("--username is required (or $AS2GATE_USER)")}
	}
	pw, err := readPassword(stderr, false)
	if err != nil {
		return err
	}
	tokens, err := client.New(url).Token(context.Background(), user, pw)
	if err != nil {
		return err
	}
	return m.print(tokens, func(w *tabwriter.Writer) {
		row(w, "Access token:", tokens.AccessToken)
		row(w, "Valid for:", seconds(tokens.ExpiresIn))
		row(w, "Refresh token:", tokens.RefreshToken)
		row(w, "Valid for:", seconds(tokens.RefreshExpiresIn))
		row(w, "Role:", tokens.Role)
	})
}

func seconds(n int) string {
	return (time.Duration(n) * time.Second).String() + " (" + strconv.Itoa(n) + " s)"
}
