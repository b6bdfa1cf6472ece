// Package bank owns question banks: the question model and its validation,
// versioned storage, search, import/export (CSV, XLSX, JSON) and the shipped
// seed bank. Campaigns and contests read questions through this package.
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
