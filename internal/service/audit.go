package service

import (
	"context"
	"sync/atomic"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
)

// actor is who calls the service, as the audit log names them.
type actor struct {
	name     string
	remote   string
	recorded atomic.Bool // an audit entry was written for the call
}

type actorKey struct{}

// WithActor names who acts in ctx: a username, "api_key:<name>", or "cli"
// for the CLI on a local installation; remote is the client's address.
// Every change made with the context is recorded in the audit log under
// that name.
func WithActor(ctx context.Context, name, remote string) context.Context {
	return context.WithValue(ctx, actorKey{}, &actor{name: name, remote: remote})
}

func actorOf(ctx context.Context) *actor {
	if a, ok := ctx.Value(actorKey{}).(*actor); ok {
		return a
	}
	return &actor{name: "system"}
}

// Recorded reports whether a change made with ctx (from WithActor) was
// recorded in the audit log: the REST API records a request refused
// before it reached the service itself.
func Recorded(ctx context.Context) bool { return actorOf(ctx).recorded.Load() }

// maxAuditText bounds what an entry repeats of a caller's input.
const maxAuditText = 200

// Audit records a change, or an attempt at one that failed with err, by
// the actor of ctx. A failure to record is logged: the change is done.
func (s *Service) Audit(ctx context.Context, action, target string, err error) {
	a := actorOf(ctx)
	s.appendAudit(ctx, &as2gate.AuditEntry{Actor: a.name, Action: action, Target: target, Remote: a.remote}, err)
}

// record is Audit for a deferred call, once target and err are known.
func (s *Service) record(ctx context.Context, action string, target *string, err *error) {
	s.Audit(ctx, action, *target, *err)
}

func (s *Service) appendAudit(ctx context.Context, e *as2gate.AuditEntry, err error) {
	actorOf(ctx).recorded.Store(true)
	e.Target = truncateRunes(e.Target, maxAuditText)
	e.Actor = truncateRunes(e.Actor, maxAuditText)
	e.Result = "ok"
	if err != nil {
		e.Result = string(as2gate.ErrorCode(err))
		e.Detail = truncateRunes(as2gate.ErrorMessage(err), maxAuditText)
	}
	e.At = s.now()
	if aerr := s.gw.Store().AppendAudit(context.WithoutCancel(ctx), e); aerr != nil {
		s.log.Error("cannot write to the audit log", "action", e.Action, "actor", e.Actor, "target", e.Target, "error", aerr)
	}
}

// ListAudit returns a page of the audit log, newest first.
func (s *Service) ListAudit(ctx context.Context, f client.AuditFilter) (*client.List[client.AuditEntry], error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	if f.Cursor != "" && !as2gate.IsID(f.Cursor) {
		return nil, as2gate.Invalid("cursor", "not a cursor of this list")
	}
	if len(f.Actor) > maxFilterLen {
		return nil, as2gate.Invalid("actor", "too long")
	}
	if len(f.Action) > maxFilterLen {
		return nil, as2gate.Invalid("action", "too long")
	}
	list, err := s.gw.Store().ListAudit(ctx, as2gate.AuditFilter{Actor: f.Actor, Action: f.Action, Since: f.Since, Until: f.Until, After: f.Cursor, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := &client.List[client.AuditEntry]{Items: make([]client.AuditEntry, len(list))}
	for i, e := range list {
		out.Items[i] = client.AuditEntry{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target,
			Remote: e.Remote, Result: e.Result, Detail: e.Detail}
	}
	if len(list) == limit {
		out.NextCursor = list[len(list)-1].ID
	}
	return out, nil
}

// pageLimit checks the size of a page asked for; 0 asks for the default.
func pageLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return defaultLimit, nil
	case limit < 0 || limit > maxLimit:
		return 0, as2gate.Invalid("limit", "%d: want 1 to %d", limit, maxLimit)
	}
	return limit, nil
}
