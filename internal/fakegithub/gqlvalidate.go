package fakegithub

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"
)

// Documents are validated by gqlparser's validator against ghschema's
// cut of GitHub's schema. This file only words its findings as GitHub
// does: GitHub runs graphql-ruby, whose static validation answers each
// finding with a message, a code and details in "extensions", and the
// finding's place in the document as "path" (the operation, "fragment F",
// "... on T", "... F", fields by response name, arguments and input fields
// by name). The wording below is graphql-ruby's (its
// lib/graphql/static_validation/rules), as github.com answers it; a
// finding this file does not know keeps gqlparser's words.

// validateDocument returns the document's validation errors in GitHub's
// words, none if it is valid.
func validateDocument(schema *ast.Schema, doc *ast.QueryDocument) []gqlError {
	found := validator.ValidateWithRules(schema, doc, nil)
	if len(found) == 0 {
		return nil
	}
	idx := indexSites(doc)
	// graphql-ruby does not look inside a field whose selection does not
	// fit its type, so what gqlparser finds in there is not GitHub's.
	var mismatched [][]any
	for _, err := range found {
		if err.Rule == "ScalarLeafs" && len(err.Locations) > 0 {
			mismatched = append(mismatched, idx[pos{err.Locations[0].Line, err.Locations[0].Column}].path)
		}
	}
	inside := func(path []any) bool {
		for _, m := range mismatched {
			if len(path) > len(m) && fmt.Sprint(path[:len(m)]) == fmt.Sprint(m) {
				return true
			}
		}
		return false
	}
	var out []gqlError
	merged := map[string]int{} // ProvidedRequiredArguments, per field: one error naming every argument
	for _, err := range found {
		var loc pos
		if len(err.Locations) > 0 {
			loc = pos{err.Locations[0].Line, err.Locations[0].Column}
		}
		st := idx[loc]
		if inside(st.path) {
			continue
		}
		ge := githubWording(schema, err, st)
		if ge.Path == nil {
			ge.Path = st.path
		}
		if loc.Line > 0 {
			ge.Locations = []pos{loc}
		}
		if err.Rule == "ProvidedRequiredArguments" && st.field != nil {
			key := fmt.Sprint(loc)
			if i, ok := merged[key]; ok {
				out[i] = mergeMissing(out[i], ge)
				continue
			}
			merged[key] = len(out)
		}
		out = append(out, ge)
	}
	return out
}

// quotedName finds the names gqlparser's messages quote.
var quotedName = regexp.MustCompile(`"([^"]*)"`)

// githubWording is one gqlparser finding in GitHub's words, at site st.
func githubWording(schema *ast.Schema, err *gqlerror.Error, st site) gqlError {
	var q []string
	for _, m := range quotedName.FindAllStringSubmatch(err.Message, -1) {
		q = append(q, m[1])
	}
	arg := func(i int) string {
		if i < len(q) {
			return strings.TrimPrefix(q[i], "$")
		}
		return ""
	}
	e := func(code, format string, args ...any) gqlError {
		return gqlError{Extensions: map[string]any{"code": code}, Message: fmt.Sprintf(format, args...)}
	}
	with := func(g gqlError, kv ...string) gqlError {
		for i := 0; i+1 < len(kv); i += 2 {
			g.Extensions[kv[i]] = kv[i+1]
		}
		return g
	}
	switch err.Rule {
	case "FieldsOnCorrectType":
		return with(e("undefinedField", "Field '%s' doesn't exist on type '%s'", arg(0), arg(1)), "typeName", arg(1), "fieldName", arg(0))
	case "KnownArgumentNames":
		kind, owner := "Field", ""
		if strings.Contains(err.Message, "on directive") {
			kind, owner = "Directive", strings.TrimPrefix(arg(1), "@")
		} else if _, f, ok := strings.Cut(arg(1), "."); ok {
			owner = f
		}
		g := with(e("argumentNotAccepted", "%s '%s' doesn't accept argument '%s'", kind, owner, arg(0)),
			"name", owner, "typeName", kind, "argumentName", arg(0))
		g.Path = append(slices.Clone(st.path), arg(0))
		return g
	case "ProvidedRequiredArguments":
		kind, owner := "Field", arg(0)
		if strings.HasPrefix(err.Message, "Directive") {
			kind, owner = "Directive", strings.TrimPrefix(arg(0), "@")
		}
		return with(e("missingRequiredArguments", "%s '%s' is missing required arguments: %s", kind, owner, arg(1)),
			"className", kind, "name", owner, "arguments", arg(1))
	case "ScalarLeafs":
		return selectionMismatch(schema, err, st)
	case "KnownFragmentNames":
		return with(e("useAndDefineFragment", "Fragment %s was used, but not defined", arg(0)), "fragmentName", arg(0))
	case "NoUnusedFragments":
		return with(e("useAndDefineFragment", "Fragment %s was defined, but not used", arg(0)), "fragmentName", arg(0))
	case "NoUnusedVariables":
		return with(e("variableNotUsed", "Variable $%s is declared by %s but not used", arg(0), st.operation), "variableName", arg(0))
	case "NoUndefinedVariables":
		return with(e("variableNotDefined", "Variable $%s is used by %s but not declared", arg(0), st.operation), "variableName", arg(0))
	case "KnownTypeNames":
		if st.variable != "" {
			return with(e("variableRequiresValidType", "%s isn't a defined input type (on $%s)", arg(0), st.variable),
				"typeName", arg(0), "variableName", st.variable)
		}
		return with(e("undefinedType", "No such type %s, so it can't be a fragment condition", arg(0)), "typeName", arg(0))
	case "VariablesAreInputTypes":
		return with(e("variableRequiresValidType", "%s isn't a valid input type (on $%s)", arg(1), arg(0)),
			"typeName", arg(1), "variableName", arg(0))
	case "FragmentsOnCompositeTypes":
		name := arg(len(q) - 1)
		return with(e("fragmentOnNonCompositeType", "Invalid fragment on type %s (must be Union, Interface or Object)", name), "typeName", name)
	case "PossibleFragmentSpreads":
		// "Fragment F cannot be spread here as objects of type P can never be of type C."
		fragment, parent, child := "", arg(0), arg(1)
		if len(q) == 3 {
			fragment, parent, child = " "+arg(0), arg(1), arg(2)
		}
		name := fragment
		if name == "" {
			name = "unknown"
		}
		return with(e("cannotSpreadFragment", "Fragment%s on %s can't be spread inside %s", fragment, child, parent),
			"typeName", child, "fragmentName", name, "parentName", parent)
	case "NoFragmentCycles":
		return with(e("infiniteLoop", "Fragment %s contains an infinite loop", arg(0)), "fragmentName", arg(0))
	case "VariablesInAllowedPosition":
		return variableMismatch(arg(0), arg(1), arg(2), st)
	case "ValuesOfCorrectType":
		return literalMismatch(err, q, st)
	case "UniqueArgumentNames":
		return with(e("argumentNotUnique", "There can be only one argument named %q", arg(0)), "name", arg(0))
	case "UniqueVariableNames":
		return with(e("variableNotUnique", "There can only be one variable named %q", arg(0)), "variableName", arg(0))
	case "UniqueOperationNames":
		return with(e("uniquelyNamedOperations", "Operation name %q must be unique", arg(0)), "operationName", arg(0))
	case "LoneAnonymousOperation":
		return e("uniquelyNamedOperations", "Operation name is required when multiple operations are present")
	case "UniqueFragmentNames":
		return with(e("fragmentNotUnique", "Fragment name %q must be unique", arg(0)), "fragmentName", arg(0))
	case "UniqueInputFieldNames":
		return with(e("inputFieldNotUnique", "There can be only one input field named %q", arg(0)), "name", arg(0))
	case "UniqueDirectivesPerLocation":
		return with(e("directiveNotUniqueForLocation", "The directive %q can only be used once at this location.", arg(0)), "directiveName", arg(0))
	case "KnownDirectives":
		name := strings.TrimPrefix(arg(0), "@")
		if strings.HasPrefix(err.Message, "Unknown directive") {
			return with(e("undefinedDirective", "Directive @%s is not defined", name), "directiveName", name)
		}
		// gqlparser: `Directive "@x" may not be used on FIELD.`
		target := strings.ToLower(strings.TrimSuffix(err.Message[strings.LastIndex(err.Message, " ")+1:], "."))
		return with(e("directiveCannotBeApplied", "'@%s' can't be applied to %s", name, target), "targetName", target)
	case "KnownRootType":
		if strings.Contains(err.Message, "subscription") {
			return e("missingSubscriptionConfiguration", "Schema is not configured for subscriptions")
		}
		return e("missingMutationConfiguration", "Schema is not configured for mutations")
	}
	return gqlError{Message: err.Message}
}

// selectionMismatch words ScalarLeafs: a leaf field with a selection, or
// an object field without one.
func selectionMismatch(schema *ast.Schema, err *gqlerror.Error, st site) gqlError {
	f := st.field
	if f == nil || f.Definition == nil {
		return gqlError{Message: err.Message}
	}
	typ := f.Definition.Type.Name()
	g := gqlError{Extensions: map[string]any{"code": "selectionMismatch", "nodeName": "field '" + f.Name + "'", "typeName": typ}}
	if len(f.SelectionSet) == 0 {
		g.Message = fmt.Sprintf("Field must have selections (field '%s' returns %s but has no selections. Did you mean '%s { ... }'?)", f.Name, typ, f.Name)
		return g
	}
	var sels []string
	for _, s := range f.SelectionSet {
		switch s := s.(type) {
		case *ast.Field:
			sels = append(sels, `"`+s.Name+`"`)
		case *ast.FragmentSpread:
			sels = append(sels, `"`+s.Name+`"`)
		case *ast.InlineFragment:
			sels = append(sels, `"... on `+s.TypeCondition+` { ... }"`)
		}
	}
	kind := "scalars"
	if def := schema.Types[typ]; def != nil && def.Kind == ast.Enum {
		kind = "enums"
	}
	g.Message = fmt.Sprintf("Selections can't be made on %s (field '%s' returns %s but has selections [%s])", kind, f.Name, typ, strings.Join(sels, ", "))
	return g
}

// variableMismatch words VariablesInAllowedPosition: a variable of type
// have where the argument at st wants want.
func variableMismatch(variable, have, want string, st site) gqlError {
	bare := func(t string) string { return strings.ReplaceAll(t, "!", "") }
	kind := "Type mismatch"
	switch {
	case bare(have) == bare(want):
		kind = "Nullability mismatch"
	case strings.Count(have, "[") != strings.Count(want, "["):
		kind = "List dimension mismatch"
	}
	variable = strings.TrimPrefix(variable, "$")
	name := variable
	if st.arg != nil {
		name = st.arg.name
	}
	return gqlError{Extensions: map[string]any{"code": "variableMismatch", "variableName": variable,
		"typeName": have, "argumentName": name, "errorMessage": kind},
		Message: fmt.Sprintf("%s on variable $%s and argument %s (%s / %s)", kind, variable, name, have, want)}
}

// literalMismatch words ValuesOfCorrectType: an inline value that is not
// of its argument's (or input field's) type, an input field its type does
// not declare, or a required input field left out.
func literalMismatch(err *gqlerror.Error, q []string, st site) gqlError {
	a := st.arg
	switch {
	case strings.Contains(err.Message, "is not defined by type") && len(q) == 2:
		return gqlError{Extensions: map[string]any{"code": "argumentNotAccepted", "name": q[1], "typeName": "InputObject", "argumentName": q[0]},
			Message: fmt.Sprintf("InputObject '%s' doesn't accept argument '%s'", q[1], q[0])}
	case strings.Contains(err.Message, "was not provided") && len(q) == 2:
		input, field, _ := strings.Cut(q[0], ".")
		return gqlError{Extensions: map[string]any{"code": "missingRequiredInputObjectAttribute", "argumentName": field,
			"argumentType": q[1], "inputObjectType": input},
			Message: fmt.Sprintf("Argument '%s' on InputObject '%s' is required. Expected type %s", field, input, q[1])}
	case a == nil:
		return gqlError{Message: err.Message}
	}
	value := ""
	if st.value != nil {
		value = " (" + st.value.String() + ")"
	}
	return gqlError{Extensions: map[string]any{"code": "argumentLiteralsIncompatible", "typeName": a.kind, "argumentName": a.name},
		Message: fmt.Sprintf("Argument '%s' on %s '%s' has an invalid value%s. Expected type '%s'.", a.name, a.kind, a.owner, value, a.typ)}
}

// mergeMissing adds next's missing arguments to first's (graphql-ruby
// names them all in one error).
func mergeMissing(first, next gqlError) gqlError {
	args := first.Extensions["arguments"].(string) + ", " + next.Extensions["arguments"].(string)
	first.Extensions["arguments"] = args
	prefix, _, _ := strings.Cut(first.Message, ": ")
	first.Message = prefix + ": " + args
	return first
}
