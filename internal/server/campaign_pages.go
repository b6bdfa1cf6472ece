package server

func (s *Server) campaignPageRoutes() {}
