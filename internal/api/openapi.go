package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/as2gate/as2gate/client"
)

// The OpenAPI 3.0 document, generated from the route table and, by
// reflection over their json tags, the client package's types: the router
// and its description cannot disagree.

type object = map[string]any

func openAPIDocument(rs []route) []byte {
	g := &schemas{defs: object{}}
	paths := object{}
	for _, rt := range rs {
		ops, _ := paths[rt.path].(object)
		if ops == nil {
			ops = object{}
			paths[rt.path] = ops
		}
		ops[strings.ToLower(rt.method)] = g.operation(rt)
	}
	g.schema(reflect.TypeFor[client.ErrorBody]())
	doc := object{
		"openapi": "3.0.3",
		"info": object{
			"title":       "as2gate REST API",
			"version":     "1",
			"description": "Send and receive AS2 messages, manage stations, partners, certificates, users and API keys. Authenticate with Authorization: Bearer and an access token (POST /auth/token) or an API key.",
		},
		"servers": []any{object{"url": Prefix}},
		"paths":   paths,
		"components": object{
			"schemas":         g.defs,
			"securitySchemes": object{"bearer": object{"type": "http", "scheme": "bearer"}},
		},
		"security": []any{object{"bearer": []any{}}},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic("api: the OpenAPI document does not marshal: " + err.Error()) // a bug in the table, found by every test
	}
	return b
}

func (g *schemas) operation(rt route) object {
	op := object{
		"operationId": operationID(rt),
		"summary":     rt.summary,
		"tags":        []any{strings.Split(strings.Trim(rt.path, "/"), "/")[0]},
	}
	if rt.perm == permNone {
		op["security"] = []any{}
	} else if rt.perm != permAuthenticated {
		op["description"] = "Needs the " + string(rt.perm) + " permission."
	}
	var params []any
	for _, name := range pathParams(rt.path) {
		typ := object{"type": "string"}
		if name == "index" {
			typ = object{"type": "integer", "minimum": 0}
		}
		params = append(params, object{"name": name, "in": "path", "required": true, "schema": typ})
	}
	for _, p := range rt.params {
		params = append(params, object{"name": p.name, "in": p.in, "description": p.desc, "schema": paramSchema(p.typ)})
	}
	if params != nil {
		op["parameters"] = params
	}
	switch {
	case rt.body == sendBody:
		op["requestBody"] = object{"required": true, "content": object{
			"multipart/form-data": object{"schema": object{
				"type":     "object",
				"required": []any{"station", "partner", "file"},
				"properties": object{
					"station":      object{"type": "string", "description": "AS2 ID or record ID; before the files"},
					"partner":      object{"type": "string", "description": "AS2 ID or record ID; before the files"},
					"subject":      object{"type": "string"},
					"content_type": object{"type": "string", "description": "of every file; else each part's, else detected"},
					"file":         object{"type": "array", "items": object{"type": "string", "format": "binary"}},
				},
			}},
			"application/octet-stream": object{"schema": object{"type": "string", "format": "binary"}},
		}}
	case rt.in != nil:
		op["requestBody"] = object{"required": rt.path != "/auth/logout", "content": object{
			"application/json": object{"schema": g.schema(reflect.TypeOf(rt.in))},
		}}
	}
	ok := object{"description": http.StatusText(rt.status)}
	switch {
	case rt.out != nil:
		ok["content"] = object{"application/json": object{"schema": g.schema(reflect.TypeOf(rt.out))}}
	case rt.media != "":
		ok["content"] = object{rt.media: object{"schema": object{"type": "string", "format": "binary"}}}
	}
	if rt.status == 202 {
		ok["headers"] = object{"Location": object{"description": "the message in the outbox", "schema": object{"type": "string"}}}
	}
	responses := object{
		strconv.Itoa(rt.status): ok,
		"default": object{"description": "an error", "content": object{
			"application/json": object{"schema": object{"$ref": "#/components/schemas/ErrorBody"}},
		}},
	}
	if rt.media == "application/octet-stream" {
		responses["206"] = object{"description": "the range asked for", "content": ok["content"]}
	}
	op["responses"] = responses
	return op
}

// operationID is e.g. get_inbox_id_files_index.
func operationID(rt route) string {
	r := strings.NewReplacer("/", "_", "{", "", "}", "", "-", "_", ".", "_")
	return strings.ToLower(rt.method) + r.Replace(rt.path)
}

func paramSchema(typ string) object {
	switch typ {
	case "date-time":
		return object{"type": "string", "format": "date-time"}
	case "array":
		return object{"type": "array", "items": object{"type": "string"}}
	}
	return object{"type": typ}
}

// schemas builds the components' schemas of Go types.
type schemas struct{ defs object }

var timeType = reflect.TypeFor[time.Time]()

// schema returns the schema of t: a $ref for named structs, which are
// added to the components once.
func (g *schemas) schema(t reflect.Type) object {
	switch {
	case t == timeType:
		return object{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Pointer:
		return g.schema(t.Elem())
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return object{"type": "string", "format": "byte"}
	case t.Kind() == reflect.Slice:
		return object{"type": "array", "items": g.schema(t.Elem())}
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Interface:
		return object{"type": "object"}
	case t.Kind() == reflect.Map:
		return object{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case t.Kind() == reflect.String:
		return object{"type": "string"}
	case t.Kind() == reflect.Bool:
		return object{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		if t.Size() == 8 {
			return object{"type": "integer", "format": "int64"}
		}
		return object{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return object{"type": "number"}
	case t.Kind() == reflect.Struct:
		name := schemaName(t)
		if _, done := g.defs[name]; !done {
			g.defs[name] = object{} // a placeholder against recursion
			props, required := object{}, []any{}
			g.fields(t, props, &required)
			s := object{"type": "object", "properties": props}
			if len(required) > 0 {
				s["required"] = required
			}
			g.defs[name] = s
		}
		return object{"$ref": "#/components/schemas/" + name}
	}
	return object{}
}

// fields adds the JSON fields of a struct, those of embedded structs
// inlined as encoding/json does. A field is required unless it is a
// pointer or omitted when empty.
func (g *schemas) fields(t reflect.Type, props object, required *[]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			g.fields(f.Type, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		optional := f.Type.Kind() == reflect.Pointer || strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		if !optional {
			*required = append(*required, name)
		}
	}
}

// schemaName is a type's name; client.List[client.User] is UserList.
func schemaName(t reflect.Type) string {
	name := t.Name()
	base, arg, generic := strings.Cut(name, "[")
	if !generic {
		return name
	}
	arg = strings.TrimSuffix(arg, "]")
	return arg[strings.LastIndex(arg, ".")+1:] + base
}
