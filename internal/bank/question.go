// Package bank owns question banks: the question model and its validation,
// versioned storage, search, import/export (CSV, XLSX, JSON) and the shipped
// seed bank.
//
// Storage: a question (table questions) is a stable identity in the bank of
// its owner region (owner_region_id); its text lives in question_versions.
// Every change of content makes a new version; attempts and contests store
// question_versions.id and so always show exactly what they showed. Retired
// questions leave new draws but keep every version. An en question links to
// its zh-CN original with translation_of.
//
// What campaigns and contests use (they may also read the tables directly):
//
//   - (*Service).Version(ctx, versionID) returns one exact version (stem,
//     options, answer, explanation, image id …) whatever the question's
//     status is now; it holds the answer key.
//   - (*Service).Candidates(ctx, Filter{Category, Dimension, Type,
//     Difficulty, Lang, Text}) lists every published question matching the
//     filter with its current version id, for draws.
//   - LoadImage(ctx, id) returns an image; the server serves it at
//     /api/v1/bank/images/{id}.
//   - Categories, Dimensions (+ DimensionWeight), Types, Statuses,
//     Languages name the allowed values.
//
// Who may do what: organizers edit the banks of their region subtree
// (new questions go to their scope region), admins everything, teachers read
// published questions except private ones, participants nothing
// (kepu.Forbidden). Answer keys leave the server only to those three roles.
// A private question (questions.private, Input.Private) is read only by
// admins and organizers in scope; only private-pool campaigns draw it, and
// neither contests nor Candidates offer it (docs/security.md).
package bank

// Question types.
const (
	TypeSingle    = "single"
	TypeMultiple  = "multiple"
	TypeTrueFalse = "truefalse"
)

// Types lists the question types.
var Types = []string{TypeSingle, TypeMultiple, TypeTrueFalse}

// Literacy dimensions of the 2024 national citizen science-literacy survey,
// with their weight in its 100 points.
const (
	DimKnowledge   = "knowledge"   // 科学知识, 40
	DimMethod      = "method"      // 科学方法, 20
	DimSpirit      = "spirit"      // 科学精神与思想, 20
	DimApplication = "application" // 应用科学的能力, 20
)

// Dimensions lists the dimensions in survey order.
var Dimensions = []string{DimKnowledge, DimMethod, DimSpirit, DimApplication}

// DimensionWeight is each dimension's share of the survey's 100 points.
var DimensionWeight = map[string]int{DimKnowledge: 40, DimMethod: 20, DimSpirit: 20, DimApplication: 20}

// Categories lists the topic categories.
var Categories = []string{"health", "safety", "environment", "earth_space", "life",
	"physics_chemistry", "agriculture_food", "info_literacy", "technology", "history_method"}

// Statuses of a question.
const (
	StatusDraft     = "draft"
	StatusPublished = "published"
	StatusRetired   = "retired"
)
