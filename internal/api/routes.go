package api

import (
	"net/http"
	"strings"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
)

// route is one operation of the API: the router and the OpenAPI document
// are both built from the table below.
type route struct {
	method  string
	path    string // under Prefix, with {name} path parameters
	perm    permission
	action  string // the audit action of a change; "" for a read
	summary string
	params  []param // query and header parameters (path ones come from path)
	in      any     // the JSON request body's type (a zero value); nil for none
	body    string  // another request body: sendBody
	out     any     // the JSON response's type; nil for none
	status  int     // the status of success
	media   string  // the media type of a response that is not JSON
	secret  bool    // the answer carries a token or a key's secret: never cached
	handle  func(a *API, w http.ResponseWriter, r *http.Request) error
}

// permission is what a route needs: one of the roles' permissions, or
// only a valid credential, or nothing.
type permission string

const (
	permNone          permission = ""
	permAuthenticated permission = "authenticated"
	permRead                     = permission(as2gate.PermRead)
	permMessages                 = permission(as2gate.PermMessages)
	permConfig                   = permission(as2gate.PermConfig)
	permAdmin                    = permission(as2gate.PermAdmin)
)

// param is a query or header parameter.
type param struct {
	name string
	in   string // query or header
	typ  string // string, integer, boolean, date-time, array (of strings)
	desc string
}

func q(name, typ, desc string) param { return param{name: name, in: "query", typ: typ, desc: desc} }

var pageParams = []param{
	q("cursor", "string", "the next_cursor of the previous page"),
	q("limit", "integer", "items per page: 1 to 1000, 50 by default"),
}

func withPage(ps ...param) []param { return append(ps, pageParams...) }

// sendBody marks the send route's body: multipart/form-data or raw bytes.
const sendBody = "send"

var routes = buildRoutes()

func buildRoutes() []route {
	rs := []route{
		{method: "GET", path: "/openapi.json", summary: "This API's OpenAPI 3.0 document", out: map[string]any{}, status: 200, handle: (*API).getOpenAPI},

		{method: "POST", path: "/auth/token", action: "auth.login", summary: "Log in: an access token and a refresh token",
			in: client.TokenRequest{}, out: client.Tokens{}, status: 200, secret: true, handle: (*API).login},
		{method: "POST", path: "/auth/refresh", action: "auth.refresh", summary: "Exchange a refresh token (used up) for new tokens",
			in: client.RefreshRequest{}, out: client.Tokens{}, status: 200, secret: true, handle: (*API).refresh},
		{method: "POST", path: "/auth/logout", perm: permAuthenticated, action: "auth.logout", summary: "End the login of the access token (and of a refresh token given)",
			in: client.RefreshRequest{}, status: 204, handle: (*API).logout},
		{method: "GET", path: "/me", perm: permAuthenticated, summary: "Who the credentials stand for", out: client.Principal{}, status: 200, handle: (*API).me},

		{method: "GET", path: "/users", perm: permAdmin, summary: "List users", params: withPage(), out: client.List[client.User]{}, status: 200, handle: (*API).listUsers},
		{method: "POST", path: "/users", perm: permAdmin, action: "user.create", summary: "Create a user", in: client.UserInput{}, out: client.User{}, status: 201, handle: (*API).createUser},
		{method: "GET", path: "/users/{id}", perm: permAdmin, summary: "Get a user", out: client.User{}, status: 200, handle: (*API).getUser},
		{method: "PATCH", path: "/users/{id}", perm: permAdmin, action: "user.update", summary: "Change a user", in: client.UserInput{}, out: client.User{}, status: 200, handle: (*API).updateUser},
		{method: "DELETE", path: "/users/{id}", perm: permAdmin, action: "user.delete", summary: "Delete a user (never the last administrator)", status: 204, handle: (*API).deleteUser},

		{method: "GET", path: "/api-keys", perm: permAdmin, summary: "List API keys, revoked ones included", params: withPage(), out: client.List[client.APIKey]{}, status: 200, handle: (*API).listAPIKeys},
		{method: "POST", path: "/api-keys", perm: permAdmin, action: "apikey.create", summary: "Create an API key; its secret is shown this once", in: client.APIKeyInput{}, out: client.APIKey{}, status: 201, secret: true, handle: (*API).createAPIKey},
		{method: "DELETE", path: "/api-keys/{id}", perm: permAdmin, action: "apikey.revoke", summary: "Revoke an API key", status: 204, handle: (*API).revokeAPIKey},

		{method: "GET", path: "/audit", perm: permAdmin, summary: "The audit log, newest first", params: withPage(
			q("actor", "string", "only entries of this actor"), q("action", "string", "only entries of this action"),
			q("since", "date-time", "only entries from this time on"), q("until", "date-time", "only entries before this time"),
		), out: client.List[client.AuditEntry]{}, status: 200, handle: (*API).listAudit},

		{method: "GET", path: "/certificates", perm: permRead, summary: "List certificates", params: withPage(), out: client.List[client.Certificate]{}, status: 200, handle: (*API).listCertificates},
		{method: "POST", path: "/certificates", perm: permConfig, action: "certificate.import", summary: "Import a certificate (PEM, DER or PKCS#12)", in: client.CertificateImport{}, out: client.Certificate{}, status: 201, handle: (*API).importCertificate},
		{method: "POST", path: "/certificates/generate", perm: permConfig, action: "certificate.generate", summary: "Generate a self-signed key pair", in: client.CertificateGenerate{}, out: client.Certificate{}, status: 201, handle: (*API).generateCertificate},
		{method: "GET", path: "/certificates/{id}", perm: permRead, summary: "Get a certificate", out: client.Certificate{}, status: 200, handle: (*API).getCertificate},
		{method: "GET", path: "/certificates/{id}/pem", perm: permRead, summary: "A certificate as PEM (never its key)", status: 200, media: "application/x-pem-file", handle: (*API).certificatePEM},
		{method: "DELETE", path: "/certificates/{id}", perm: permConfig, action: "certificate.delete", summary: "Delete a certificate no station or partner uses", status: 204, handle: (*API).deleteCertificate},

		{method: "GET", path: "/stations", perm: permRead, summary: "List stations", params: withPage(), out: client.List[client.Station]{}, status: 200, handle: (*API).listStations},
		{method: "POST", path: "/stations", perm: permConfig, action: "station.create", summary: "Create a station", in: client.StationInput{}, out: client.Station{}, status: 201, handle: (*API).createStation},
		{method: "GET", path: "/stations/{ref}", perm: permRead, summary: "Get a station by record ID or AS2 ID", out: client.Station{}, status: 200, handle: (*API).getStation},
		{method: "PATCH", path: "/stations/{ref}", perm: permConfig, action: "station.update", summary: "Change a station", in: client.StationInput{}, out: client.Station{}, status: 200, handle: (*API).updateStation},
		{method: "DELETE", path: "/stations/{ref}", perm: permConfig, action: "station.delete", summary: "Delete a station without messages in progress", status: 204, handle: (*API).deleteStation},
		{method: "GET", path: "/stations/{ref}/certificate", perm: permRead, summary: "The station's public certificate, to give partners",
			params: []param{q("next", "boolean", "the next certificate of a rollover")}, status: 200, media: "application/x-pem-file", handle: (*API).stationCertificate},
		{method: "POST", path: "/stations/{ref}/promote", perm: permConfig, action: "station.promote", summary: "End a rollover: the next certificate becomes the current one", out: client.Station{}, status: 200, handle: (*API).promoteStation},

		{method: "GET", path: "/partners", perm: permRead, summary: "List partners", params: withPage(), out: client.List[client.Partner]{}, status: 200, handle: (*API).listPartners},
		{method: "POST", path: "/partners", perm: permConfig, action: "partner.create", summary: "Create a partner", in: client.PartnerInput{}, out: client.Partner{}, status: 201, handle: (*API).createPartner},
		{method: "GET", path: "/partners/{ref}", perm: permRead, summary: "Get a partner by record ID or AS2 ID", out: client.Partner{}, status: 200, handle: (*API).getPartner},
		{method: "PATCH", path: "/partners/{ref}", perm: permConfig, action: "partner.update", summary: "Change a partner", in: client.PartnerInput{}, out: client.Partner{}, status: 200, handle: (*API).updatePartner},
		{method: "DELETE", path: "/partners/{ref}", perm: permConfig, action: "partner.delete", summary: "Delete a partner without messages in progress", status: 204, handle: (*API).deletePartner},

		{method: "POST", path: "/messages", perm: permMessages, action: "message.send", summary: "Send files: multipart/form-data, or the raw file with X-AS2-Station and X-AS2-Partner",
			params: []param{
				{name: "X-AS2-Station", in: "header", typ: "string", desc: "raw body: the station (AS2 ID or record ID)"},
				{name: "X-AS2-Partner", in: "header", typ: "string", desc: "raw body: the partner (AS2 ID or record ID)"},
				{name: "Subject", in: "header", typ: "string", desc: "raw body: the subject; the partner's default when absent"},
				{name: "X-Filename", in: "header", typ: "string", desc: "raw body: the file name, unless Content-Disposition gives it"},
			}, body: sendBody, out: client.SendAccepted{}, status: 202, handle: (*API).send},
		{method: "GET", path: "/messages", perm: permRead, summary: "List the messages of both boxes, newest first",
			params: withPage(append(messageFilterParams(),
				q("direction", "string", "only received (in) or sent (out) messages"),
				q("read", "boolean", "only received messages marked read (true) or unread (false)"))...),
			out: client.List[client.Message]{}, status: 200, handle: (*API).listMessages},
	}
	rs = append(rs, boxRoutes("inbox")...)
	return append(rs, boxRoutes("outbox")...)
}

// messageFilterParams are the filters of every list of messages.
func messageFilterParams() []param {
	return []param{
		q("station", "string", "only messages of this station (AS2 ID or record ID)"),
		q("partner", "string", "only messages with this partner (AS2 ID or record ID)"),
		q("subject", "string", "only messages whose subject contains this text"),
		q("message_id", "string", "only the message with this AS2 Message-ID"),
		q("since", "date-time", "only messages created from this time on"),
		q("until", "date-time", "only messages created before this time"),
		q("status", "array", "only messages in these statuses (repeat the parameter)"),
	}
}

// boxRoutes are the routes of the inbox (received messages) or the outbox
// (messages sent, queued, failed...).
func boxRoutes(box string) []route {
	what := strings.TrimSuffix(box, "box") + "bound message" // inbound, outbound
	filter := messageFilterParams()
	if box == "inbox" {
		filter = append(filter, q("read", "boolean", "only messages marked read (true) or unread (false)"))
	}
	p := "/" + box
	rs := []route{
		{method: "GET", path: p, perm: permRead, summary: "List " + what + "s, newest first", params: withPage(filter...), out: client.List[client.Message]{}, status: 200, handle: (*API).listBox},
		{method: "GET", path: p + "/{id}", perm: permRead, summary: "Get an " + what + " with its transport headers", out: client.MessageDetail{}, status: 200, handle: (*API).getBoxMessage},
		{method: "GET", path: p + "/{id}/files", perm: permRead, summary: "List the files of an " + what, params: withPage(), out: client.List[client.File]{}, status: 200, handle: (*API).listFiles},
		{method: "GET", path: p + "/{id}/files/{index}", perm: permRead, summary: "Download a file (Range supported)", status: 200, media: "application/octet-stream", handle: (*API).downloadFile},
		{method: "GET", path: p + "/{id}/mdn", perm: permRead, summary: "The MDN of an " + what + ", parsed", out: client.MDN{}, status: 200, handle: (*API).getMDN},
		{method: "GET", path: p + "/{id}/mdn/raw", perm: permRead, summary: "The MDN of an " + what + " as stored: headers, an empty line, the body", status: 200, media: "text/plain", handle: (*API).rawMDN},
		{method: "DELETE", path: p + "/{id}", perm: permMessages, action: box + ".delete", summary: "Delete an " + what + " with its files", status: 204, handle: (*API).deleteMessage},
		{method: "POST", path: p + "/delete", perm: permMessages, action: box + ".delete", summary: "Delete at most 100 " + what + "s", in: client.DeleteRequest{}, out: client.DeleteResult{}, status: 200, handle: (*API).deleteMessages},
	}
	if box == "inbox" {
		return append(rs,
			route{method: "POST", path: p + "/{id}/read", perm: permMessages, action: "inbox.read", summary: "Mark a received message read", status: 204, handle: (*API).markRead},
			route{method: "POST", path: p + "/{id}/unread", perm: permMessages, action: "inbox.unread", summary: "Mark a received message unread", status: 204, handle: (*API).markUnread},
		)
	}
	return append(rs,
		route{method: "POST", path: p + "/{id}/resend", perm: permMessages, action: "outbox.resend", summary: "Send a message again, with the same Message-ID", out: client.Message{}, status: 200, handle: (*API).resend},
		route{method: "POST", path: p + "/{id}/cancel", perm: permMessages, action: "outbox.cancel", summary: "Cancel a queued message", out: client.Message{}, status: 200, handle: (*API).cancel},
	)
}

// pathParams are the names of a path's {parameters}, in order.
func pathParams(path string) []string {
	var names []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, strings.Trim(seg, "{}"))
		}
	}
	return names
}

// boxDirection is the direction of a box route's messages.
func boxDirection(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, Prefix+"/inbox") {
		return string(as2gate.Inbound)
	}
	return string(as2gate.Outbound)
}
