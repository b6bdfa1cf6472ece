package server

import (
	"github.com/gofiber/fiber/v2"
)

func (s *Server) orgRoutes(api fiber.Router) {
	api.Get("/regions", func(c *fiber.Ctx) error {
		rs, err := s.org.Regions(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"regions": rs})
	})
}
