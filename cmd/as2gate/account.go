package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/as2gate/as2gate/client"
)

// Users and API keys: on a local installation, how the first ones are made
// and how access is recovered; with --server, an administrator's work.

const roles = "admin (everything), manager (stations, partners, certificates),\n" +
	"operator (sending and receiving messages) or viewer (read only)"

func runUser(args []string, stdout, stderr io.Writer) error {
	return runGroup("user", []subcommand{
		{"create", "create a user (password from $AS2GATE_NEW_PASSWORD or a prompt)", userCreate},
		{"list", "list the users", userList},
		{"delete", "delete a user (never the last administrator)", userDelete},
		{"password", "set a user's password, which ends the user's logins", userPassword},
	}, args, stdout, stderr)
}

func userCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("user create", "", "Creates a user of the REST API and the console, with a role: "+roles+".\n"+
		"The password (10 characters or more) is $AS2GATE_NEW_PASSWORD, or else asked for.", true, stdout, stderr)
	username := m.fs.String("username", "", "the user's `name`: letters, digits and . _ @ -")
	role := m.fs.String("role", "", "the user's `role`: admin, manager, operator or viewer")
	if _, err := m.parse(args, 0); err != nil {
		return err
	}
	if err := m.require("username", "role"); err != nil {
		return err
	}
	pw, err := readPassword(stderr, true)
	if err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) (*client.User, error) {
		return b.CreateUser(ctx, client.UserInput{Username: username, Password: &pw, Role: role})
	}, printWith(m, printUser))
}

func printUser(w io.Writer, u *client.User) {
	row(w, "ID:", u.ID)
	row(w, "Username:", u.Username)
	row(w, "Role:", u.Role)
	row(w, "Created:", date(u.CreatedAt))
	row(w, "Updated:", date(u.UpdatedAt))
}

func userList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("user list", "", "Lists the users.", true, stdout, stderr)
	if _, err := m.parse(args, 0); err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) ([]client.User, error) { return b.ListUsers(ctx) },
		printWith(m, func(w io.Writer, list []client.User) {
			row(w, "ID", "USERNAME", "ROLE", "CREATED")
			for _, u := range list {
				row(w, u.ID, u.Username, u.Role, date(u.CreatedAt))
			}
		}))
}

// findUser finds a user by username or ID.
func findUser(ctx context.Context, b backend, ref string) (*client.User, error) {
	list, err := b.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range list {
		if u.Username == ref || u.ID == ref {
			return &u, nil
		}
	}
	return nil, fmt.Errorf("no user %q", ref)
}

func userDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("user delete", "USERNAME", "Deletes a user (given its name or ID) and ends its logins; never the last administrator.", true, stdout, stderr)
	pos, err := m.parse(args, 1)
	if err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) (*client.User, error) {
		u, err := findUser(ctx, b, pos[0])
		if err != nil {
			return nil, err
		}
		return u, b.DeleteUser(ctx, u.ID)
	}, printWith(m, func(w io.Writer, u *client.User) { row(w, "deleted user", u.Username, u.ID) }))
}

func userPassword(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("user password", "USERNAME", "Sets the password of a user (given its name or ID) to $AS2GATE_NEW_PASSWORD, or to one\n"+
		"asked for, and ends the user's logins.", true, stdout, stderr)
	pos, err := m.parse(args, 1)
	if err != nil {
		return err
	}
	pw, err := readPassword(stderr, true)
	if err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) (*client.User, error) {
		u, err := findUser(ctx, b, pos[0])
		if err != nil {
			return nil, err
		}
		return b.UpdateUser(ctx, u.ID, client.UserInput{Password: &pw})
	}, printWith(m, func(w io.Writer, u *client.User) { row(w, "password set for user", u.Username, u.ID) }))
}

func runAPIKey(args []string, stdout, stderr io.Writer) error {
	return runGroup("apikey", []subcommand{
		{"create", "create an API key for a business system; its secret is printed once", apikeyCreate},
		{"list", "list the API keys, revoked ones included", apikeyList},
		{"revoke", "revoke an API key", apikeyRevoke},
	}, args, stdout, stderr)
}

func apikeyCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("apikey create", "", "Creates an API key with a role: "+roles+".\n"+
		"Its secret, sent as \"Authorization: Bearer SECRET\", is printed this once: only its hash is kept.", true, stdout, stderr)
	name := m.fs.String("name", "", "`name` of the key: the system that uses it")
	role := m.fs.String("role", "", "the key's `role`: admin, manager, operator or viewer")
	if _, err := m.parse(args, 0); err != nil {
		return err
	}
	if err := m.require("name", "role"); err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) (*client.APIKey, error) {
		return b.CreateAPIKey(ctx, client.APIKeyInput{Name: *name, Role: *role})
	}, func(b backend, k *client.APIKey) error {
		if !m.json {
			fmt.Fprintln(stderr, "The secret is shown only this once: keep it now.")
		}
		return printWith(m, printAPIKey)(b, k)
	})
}

func printAPIKey(w io.Writer, k *client.APIKey) {
	row(w, "ID:", k.ID)
	row(w, "Name:", k.Name)
	row(w, "Role:", k.Role)
	if k.Secret != "" {
		row(w, "Secret:", k.Secret)
	}
	row(w, "Created:", date(k.CreatedAt))
}

func apikeyList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("apikey list", "", "Lists the API keys, revoked ones included, with the first characters of their secrets.", true, stdout, stderr)
	if _, err := m.parse(args, 0); err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) ([]client.APIKey, error) { return b.ListAPIKeys(ctx) },
		printWith(m, func(w io.Writer, list []client.APIKey) {
			row(w, "ID", "NAME", "ROLE", "SECRET", "CREATED", "LAST USED", "REVOKED")
			for _, k := range list {
				row(w, k.ID, k.Name, k.Role, k.Prefix+"...", date(k.CreatedAt), date(k.LastUsedAt), date(k.RevokedAt))
			}
		}))
}

func apikeyRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("apikey revoke", "ID", "Revokes an API key, given its ID: it is refused from then on, and stays listed.", true, stdout, stderr)
	pos, err := m.parse(args, 1)
	if err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) (*client.APIKey, error) {
		if err := b.RevokeAPIKey(ctx, pos[0]); err != nil {
			return nil, err
		}
		list, err := b.ListAPIKeys(ctx)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(list, func(k client.APIKey) bool { return k.ID == pos[0] })
		if i < 0 {
			return nil, fmt.Errorf("API key %s revoked, then gone from the list", pos[0])
		}
		return &list[i], nil
	}, printWith(m, func(w io.Writer, k *client.APIKey) { row(w, "revoked API key", k.Name, k.ID) }))
}
