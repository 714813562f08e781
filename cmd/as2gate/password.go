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

// readPassword returns $AS2GATE_PASSWORD, or asks for the password: on a
// terminal without echo (twice when confirm, for a new password), else as
// the first line of stdin (a script's pipe).
func readPassword(stderr io.Writer, confirm bool) (string, error) {
	if pw := os.Getenv("AS2GATE_PASSWORD"); pw != "" {
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
			return "", &exitError{status: 2, err: errors.New("no password: set AS2GATE_PASSWORD, or give it on stdin")}
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
	pw, err := ask("Password: ")
	if err != nil || !confirm {
		return pw, err
	}
	again, err := ask("Password again: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the passwords differ")
	}
	return pw, nil
}
