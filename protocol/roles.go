package protocol

import "slices"

// The dashboard's permissions, as PROTOCOL.md §2 names them: what the
// exchange's user carries, and what the relay's own checks ask of a role.
const (
	PermRoles       = "roles.manage"
	PermSettings    = "settings.manage"
	PermMembers     = "members.manage"
	PermInvites     = "invites.manage"
	PermCollections = "collections.manage"
	PermContent     = "content.manage"
	PermProjects    = "projects.manage"
)

// roles are the members' roles, from the most to the least powerful.
var roles = []string{"owner", "admin", "manager", "editor", "author"}

// rolePermissions are the permissions each role grants (PROTOCOL.md §2).
var rolePermissions = map[string][]string{
	"owner":   {PermRoles, PermSettings, PermMembers, PermInvites, PermCollections, PermContent, PermProjects},
	"admin":   {PermRoles, PermSettings, PermMembers, PermInvites, PermCollections, PermContent},
	"manager": {PermMembers, PermInvites, PermCollections, PermContent},
	"editor":  {PermCollections, PermContent},
	"author":  {PermContent},
}

// Roles lists the roles, the most powerful first.
func Roles() []string { return slices.Clone(roles) }

// ValidRole reports whether role is one of the documented roles.
func ValidRole(role string) bool { _, ok := rolePermissions[role]; return ok }

// Permissions are the dashboard permissions role grants; none for a role
// that is not one.
func Permissions(role string) []string { return slices.Clone(rolePermissions[role]) }

// Grants reports whether role grants perm.
func Grants(role, perm string) bool { return slices.Contains(rolePermissions[role], perm) }
