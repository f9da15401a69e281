package crm

import (
	"reflect"
	"strings"
	"unicode/utf8"
)

// CutBytes shortens s to at most n bytes without splitting a UTF-8 sequence: for
// limits of storage and of error messages.
func CutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// CutRunes shortens s to at most n runes: for limits people count in characters.
func CutRunes(s string, n int) string {
	if len(s) <= n || utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// IsSnowflake reports whether s has the shape of a Discord id: 1 to 20 digits.
func IsSnowflake(s string) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// NoNUL returns s without NUL bytes. No stored text keeps one: SQLite's functions and
// full-text index stop at it, PostgreSQL refuses it, and no person types it.
func NoNUL(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "")
}

// StripNUL removes NUL bytes from every string that v points to, through structs,
// pointers, slices and maps: for a request body decoded from JSON, where "\u0000" is
// a NUL. Only strings that hold one are written.
func StripNUL(v any) { stripNUL(reflect.ValueOf(v)) }

func stripNUL(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() && strings.IndexByte(v.String(), 0) >= 0 {
			v.SetString(NoNUL(v.String()))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			stripNUL(v.Elem())
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		// A string in an interface cannot be set in place: the interface gets a new one.
		if e := v.Elem(); e.Kind() != reflect.String {
			stripNUL(e)
		} else if v.CanSet() && strings.IndexByte(e.String(), 0) >= 0 {
			v.Set(reflect.ValueOf(NoNUL(e.String())).Convert(e.Type()))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				stripNUL(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() != reflect.Uint8 { // bytes are data, not text
			for i := range v.Len() {
				stripNUL(v.Index(i))
			}
		}
	case reflect.Map:
		// Map values cannot be set in place either: each is cleaned in a copy, which goes
		// back into the map only when a string of its own changed.
		for _, k := range v.MapKeys() {
			old := v.MapIndex(k)
			e := reflect.New(old.Type()).Elem()
			e.Set(old)
			stripNUL(e)
			key := k
			if k.Kind() == reflect.String && strings.IndexByte(k.String(), 0) >= 0 {
				v.SetMapIndex(k, reflect.Value{})
				key = reflect.ValueOf(NoNUL(k.String())).Convert(k.Type())
			}
			if key != k || textOf(old) != textOf(e) {
				v.SetMapIndex(key, e)
			}
		}
	}
}

// textOf returns the string v holds, directly or in an interface, or "".
func textOf(v reflect.Value) string {
	if v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() == reflect.String {
		return v.String()
	}
	return ""
}
