package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPI checks the served document against the router: every route
// the mux has is in it with its method and parameters, it has no route the
// mux lacks, and it is valid OpenAPI 3.0 as far as can be told without a
// validator: required fields, path parameters declared, $refs resolving.
func TestOpenAPI(t *testing.T) {
	e := newEnv(t, envOptions{})
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Info       map[string]any                       `json:"info"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	r := e.call("GET", "/openapi.json", "", nil).want(200)
	if r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("Content-Type %q", r.header.Get("Content-Type"))
	}
	r.decode(&doc)
	if doc.OpenAPI != "3.0.3" || doc.Info["title"] == nil || doc.Info["version"] == nil || len(doc.Paths) == 0 {
		t.Fatalf("document head: %q %v, %d paths", doc.OpenAPI, doc.Info, len(doc.Paths))
	}

	// The document's operations are the mux's patterns, exactly.
	var documented []string
	opIDs := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			pattern := strings.ToUpper(method) + " " + Prefix + path
			documented = append(documented, pattern)
			id, _ := op["operationId"].(string)
			if id == "" || opIDs[id] {
				t.Errorf("%s: operationId %q missing or repeated", pattern, id)
			}
			opIDs[id] = true
			checkOperation(t, e, pattern, path, strings.ToUpper(method), op)
		}
	}
	slices.Sort(documented)
	registered := slices.Sorted(slices.Values(e.api.patterns))
	if !slices.Equal(documented, registered) {
		t.Errorf("documented operations differ from the router's:\ndocument %v\nrouter   %v", documented, registered)
	}

	// Every $ref resolves.
	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "$ref" {
					refs = append(refs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var raw map[string]any
	json.Unmarshal(r.body, &raw)
	walk(raw)
	if len(refs) < 20 {
		t.Fatalf("only %d $refs", len(refs))
	}
	for _, ref := range refs {
		name, ok := strings.CutPrefix(ref, "#/components/schemas/")
		if !ok || doc.Components.Schemas[name] == nil {
			t.Errorf("$ref %q does not resolve", ref)
		}
	}

	// The schemas follow the json tags.
	msg := doc.Components.Schemas["Message"]
	props, _ := msg["properties"].(map[string]any)
	required, _ := msg["required"].([]any)
	if props["mic_matched"] == nil || props["created_at"].(map[string]any)["format"] != "date-time" ||
		!slices.Contains(required, any("id")) || slices.Contains(required, any("mic_matched")) || slices.Contains(required, any("completed_at")) {
		t.Errorf("Message schema %v", msg)
	}
	detail, _ := doc.Components.Schemas["MessageDetail"]["properties"].(map[string]any)
	if detail["id"] == nil || detail["headers"].(map[string]any)["additionalProperties"].(map[string]any)["type"] != "array" {
		t.Errorf("MessageDetail schema %v", detail)
	}
	if f, _ := doc.Components.Schemas["CertificateImport"]["properties"].(map[string]any); f["data"].(map[string]any)["format"] != "byte" {
		t.Errorf("CertificateImport schema %v", f)
	}
	if doc.Components.Schemas["MessageList"] == nil || doc.Components.Schemas["ErrorBody"] == nil {
		t.Errorf("schemas %v", slices.Sorted(func(yield func(string) bool) {
			for k := range doc.Components.Schemas {
				if !yield(k) {
					return
				}
			}
		}))
	}
}

// checkOperation checks one operation's description and that the router
// takes the parameters it declares and refuses others.
func checkOperation(t *testing.T, e *env, pattern, path, method string, op map[string]any) {
	t.Helper()
	responses, _ := op["responses"].(map[string]any)
	if len(responses) == 0 {
		t.Errorf("%s: no responses", pattern)
	}
	for code, resp := range responses {
		if d, _ := resp.(map[string]any)["description"].(string); d == "" {
			t.Errorf("%s: response %s has no description", pattern, code)
		}
	}
	var pathParams, queryParams []string
	params, _ := op["parameters"].([]any)
	for _, p := range params {
		p := p.(map[string]any)
		name, _ := p["name"].(string)
		if p["schema"] == nil || name == "" {
			t.Errorf("%s: parameter %v without name or schema", pattern, p)
		}
		switch p["in"] {
		case "path":
			if p["required"] != true {
				t.Errorf("%s: path parameter %s not required", pattern, name)
			}
			pathParams = append(pathParams, name)
		case "query":
			queryParams = append(queryParams, name)
		case "header":
		default:
			t.Errorf("%s: parameter %s in %v", pattern, name, p["in"])
		}
	}
	if !slices.Equal(pathParams, pathParamNames(path)) {
		t.Errorf("%s: path parameters %v declared, template has %v", pattern, pathParams, pathParamNames(path))
	}
	// The router resolves a concrete URL of the operation to it.
	concrete := strings.NewReplacer("{id}", "0123456789abcdefghjkmnpqrs", "{ref}", "X%2FY", "{index}", "0").Replace(path)
	req, _ := http.NewRequest(method, e.srv.URL+Prefix+concrete, nil)
	if _, got := e.api.mux.Handler(req); got != pattern {
		t.Errorf("%s %s is routed to %q, documented as %q", method, concrete, got, pattern)
	}
	if method != "GET" {
		return
	}
	// A declared query parameter is taken; one not declared is refused.
	for _, name := range append(queryParams, "undeclared") {
		q := url.Values{name: {"1"}}
		res := e.call("GET", concrete+"?"+q.Encode(), e.tokens["admin"], nil)
		unknown := res.status == 400 && strings.Contains(string(res.body), "unknown query parameter")
		if unknown != (name == "undeclared") {
			t.Errorf("%s?%s: %d %s", pattern, q.Encode(), res.status, res.body)
		}
	}
}

func pathParamNames(path string) []string {
	var names []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") {
			names = append(names, strings.Trim(seg, "{}"))
		}
	}
	return names
}
