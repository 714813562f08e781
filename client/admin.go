package client

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// Logins, users, API keys, the audit log.

// Token logs in with a user's name and password: the answer's access token
// is what WithToken takes, and its refresh token gets the next ones.
func (c *Client) Token(ctx context.Context, username, password string) (*Tokens, error) {
	return fetch[Tokens](ctx, c, "POST", "/auth/token", nil, TokenRequest{Username: username, Password: password})
}

// Refresh exchanges a refresh token, which is used up, for new tokens.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (*Tokens, error) {
	return fetch[Tokens](ctx, c, "POST", "/auth/refresh", nil, RefreshRequest{RefreshToken: refreshToken})
}

// Logout ends the login of the client's access token, and of refreshToken
// unless it is "".
func (c *Client) Logout(ctx context.Context, refreshToken string) error {
	var in any
	if refreshToken != "" {
		in = RefreshRequest{RefreshToken: refreshToken}
	}
	return c.call(ctx, "POST", "/auth/logout", nil, in, nil)
}

// Me returns who the client's token stands for.
func (c *Client) Me(ctx context.Context) (*Principal, error) {
	return fetch[Principal](ctx, c, "GET", "/me", nil, nil)
}

// OpenAPI returns the API's OpenAPI 3.0 document.
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	return c.raw(ctx, "/openapi.json", nil)
}

// ListUsers returns every user, by name.
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	return listAll[User](ctx, c, "/users")
}

// GetUser returns a user by ID.
func (c *Client) GetUser(ctx context.Context, id string) (*User, error) {
	return fetch[User](ctx, c, "GET", "/users/"+seg(id), nil, nil)
}

// CreateUser adds a user; username, password and role are required.
func (c *Client) CreateUser(ctx context.Context, in UserInput) (*User, error) {
	return fetch[User](ctx, c, "POST", "/users", nil, in)
}

// UpdateUser changes the fields the input gives; a new password ends the
// user's logins.
func (c *Client) UpdateUser(ctx context.Context, id string, in UserInput) (*User, error) {
	return fetch[User](ctx, c, "PATCH", "/users/"+seg(id), nil, in)
}

// DeleteUser removes a user, never the last administrator.
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	return c.call(ctx, "DELETE", "/users/"+seg(id), nil, nil, nil)
}

// ListAPIKeys returns every API key, revoked ones included.
func (c *Client) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	return listAll[APIKey](ctx, c, "/api-keys")
}

// CreateAPIKey makes a key; its Secret is in the answer and nowhere else.
func (c *Client) CreateAPIKey(ctx context.Context, in APIKeyInput) (*APIKey, error) {
	return fetch[APIKey](ctx, c, "POST", "/api-keys", nil, in)
}

// RevokeAPIKey revokes a key: it is refused from then on.
func (c *Client) RevokeAPIKey(ctx context.Context, id string) error {
	return c.call(ctx, "DELETE", "/api-keys/"+seg(id), nil, nil, nil)
}

// ListAudit returns a page of the audit log, newest first.
func (c *Client) ListAudit(ctx context.Context, f AuditFilter) (*List[AuditEntry], error) {
	q := url.Values{}
	setQuery(q, "actor", f.Actor)
	setQuery(q, "action", f.Action)
	setTime(q, "since", f.Since)
	setTime(q, "until", f.Until)
	setQuery(q, "cursor", f.Cursor)
	setLimit(q, f.Limit)
	return fetch[List[AuditEntry]](ctx, c, "GET", "/audit", q, nil)
}

// fetch sends in (nil for no body) and returns the decoded JSON answer.
func fetch[T any](ctx context.Context, c *Client, method, path string, q url.Values, in any) (*T, error) {
	var out T
	if err := c.call(ctx, method, path, q, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func setQuery(q url.Values, name, v string) {
	if v != "" {
		q.Set(name, v)
	}
}

func setTime(q url.Values, name string, t time.Time) {
	if !t.IsZero() {
		q.Set(name, t.Format(time.RFC3339Nano))
	}
}

func setLimit(q url.Values, limit int) {
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
}
