package server

import (
	"github.com/gofiber/fiber/v2"
)

func (s *Server) adminRoutes(api fiber.Router) {}
