// Package apitest tests the REST API as its users meet it: the as2gate
// binary serving (`as2gate serve`, in its own process), driven through the
// Go client, raw HTTP, the README's curl walk-through and the CLI with
// --server. It has only tests.
package apitest
