package main

import "errors"

// errUsage reports that the flag package already printed what was wrong;
// errHelp that help was asked for and printed.
var (
	errUsage = errors.New("usage")
	errHelp  = errors.New("help")
)

// exitError carries a specific exit status for a failed command.
type exitError struct {
	status int
	err    error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitStatus(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.status
	}
	return 1
}
