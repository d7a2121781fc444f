package fakegithub

// Commit messages, for tests that check what a save recorded (the
// Co-authored-by trailer of a commit made with an App's token).

// HeadMessage returns the full message of the commit branch points at (""
// for the default branch), and false if there is no such branch.
func (s *Server) HeadMessage(branch string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if branch == "" {
		branch = s.git.DefaultBranch
	}
	c := s.git.branches[branch]
	if c == nil {
		return "", false
	}
	return c.message, true
}
