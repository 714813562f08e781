package api

import (
	"net/http"

	"github.com/as2gate/as2gate/client"
)

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) error {
	list, err := a.svc.ListUsers(r.Context())
	if err != nil {
		return err
	}
	return writePage(w, r, list, func(u client.User) string { return u.Username })
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) error {
	var in client.UserInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	return answer(w, http.StatusCreated)(a.svc.CreateUser(r.Context(), in))
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) error {
	return answer(w, http.StatusOK)(a.svc.GetUser(r.Context(), r.PathValue("id")))
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) error {
	var in client.UserInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	return answer(w, http.StatusOK)(a.svc.UpdateUser(r.Context(), r.PathValue("id"), in))
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.svc.DeleteUser(r.Context(), r.PathValue("id")))
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	list, err := a.svc.ListAPIKeys(r.Context())
	if err != nil {
		return err
	}
	return writePage(w, r, list, func(k client.APIKey) string { return k.ID })
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var in client.APIKeyInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	return answer(w, http.StatusCreated)(a.svc.CreateAPIKey(r.Context(), in))
}

func (a *API) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.svc.RevokeAPIKey(r.Context(), r.PathValue("id")))
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request) error {
	f := client.AuditFilter{Actor: r.URL.Query().Get("actor"), Action: r.URL.Query().Get("action"), Cursor: r.URL.Query().Get("cursor")}
	var err error
	if f.Since, f.Until, f.Limit, err = listWindow(r); err != nil {
		return err
	}
	return answer(w, http.StatusOK)(a.svc.ListAudit(r.Context(), f))
}

// answer returns a function writing what a service call returned: v as
// JSON with status, or the error.
func answer(w http.ResponseWriter, status int) func(v any, err error) error {
	return func(v any, err error) error {
		if err != nil {
			return err
		}
		writeJSON(w, status, v)
		return nil
	}
}

// noContent answers 204 unless err.
func noContent(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// writePage answers with the page of items the query asks for.
func writePage[T any](w http.ResponseWriter, r *http.Request, items []T, key func(T) string) error {
	return answer(w, http.StatusOK)(page(r, items, key))
}
