package protocol

import "testing"

// The roles' order names every role once, each granting no more than the
// one before it.
func TestRoleOrder(t *testing.T) {
	if len(roles) != len(rolePermissions) {
		t.Fatalf("roles %v does not list every role", roles)
	}
	for i, r := range roles {
		if !ValidRole(r) {
			t.Fatalf("roles has unknown role %q", r)
		}
		if i > 0 && len(rolePermissions[r]) > len(rolePermissions[roles[i-1]]) {
			t.Fatalf("%s grants more than %s, which comes before it", r, roles[i-1])
		}
	}
	if Grants("author", PermSettings) || !Grants("admin", PermSettings) || Grants("boss", PermContent) {
		t.Error("Grants disagrees with the table")
	}
}
