package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// maxPasswordLine bounds a password read from stdin.
const maxPasswordLine = 4 << 10

// readPassword returns the caller's password (newPassword false) from
// $AS2GATE_PASSWORD, or a password to set (newPassword true) from
// $AS2GATE_NEW_PASSWORD; else it asks: on a terminal without echo (twice
// for a new password), or as the first line of stdin (a script's pipe).
// A new password has a variable of its own: AS2GATE_PASSWORD, exported
// for a session, would otherwise quietly become another user's password.
func readPassword(stderr io.Writer, newPassword bool) (string, error) {
	env, prompt := "AS2GATE_PASSWORD", "Password"
	if newPassword {
		env, prompt = "AS2GATE_NEW_PASSWORD", "New password"
	}
	if pw := os.Getenv(env); pw != "" {
		return pw, nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		line, err := bufio.NewReader(io.LimitReader(os.Stdin, maxPasswordLine)).ReadString('\n')
		switch {
		case err != nil && err != io.EOF:
			return "", fmt.Errorf("reading the password from stdin: %w", err)
		case err == io.EOF && len(line) == maxPasswordLine:
			return "", fmt.Errorf("the password on stdin is over %d bytes", maxPasswordLine)
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", &exitError{status: 2, err: fmt.Errorf("no password: set %s, or give it on stdin", env)}
		}
		return pw, nil
	}
	ask := func(prompt string) (string, error) {
		fmt.Fprint(stderr, prompt)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		return string(b), nil
	}
	pw, err := ask(prompt + ": ")
	if err != nil || !newPassword {
		return pw, err
	}
	again, err := ask(prompt + " again: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the passwords differ")
	}
	return pw, nil
}
