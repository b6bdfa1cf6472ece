package server

import (
	"github.com/gofiber/fiber/v2"
)

// schoolNetworksInput replaces a school's registered public addresses.
type schoolNetworksInput struct {
	Networks []string `json:"networks"`
}

// getSchoolNetworks lists a school's registered addresses (organizers in
// scope, admins).
func (s *Server) getSchoolNetworks(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	nets, err := s.org.SchoolNetworks(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"school_id": id, "networks": nets})
}

// putSchoolNetworks replaces a school's registered addresses: logins from
// them get the school-sized per-address failure budget (login_guard.go).
func (s *Server) putSchoolNetworks(c *fiber.Ctx) error {
	a, id, err := actorAndParam(c, "id")
	if err != nil {
		return err
	}
	var in schoolNetworksInput
	if err := decodeJSON(c, &in, smallBody); err != nil {
		return err
	}
	nets, err := s.org.SetSchoolNetworks(c.UserContext(), a, id, in.Networks)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"school_id": id, "networks": nets})
}
