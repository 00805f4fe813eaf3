import HappeningModel

/// The vocabulary generated rows are built from: titles, descriptions, venues and people's names read like
/// the real thing, so a search for "jazz" or "yoga" finds plausible results.
enum WordLists {
    /// Title parts per category: (adjectives, nouns, suffixes).
    static func titleParts(_ category: EventCategory) -> (adjectives: [String], nouns: [String], suffixes: [String]) {
        switch category {
        case .music:
            return (
                ["Sunset", "Midnight", "Acoustic", "Electric", "Monsoon", "Classical", "Indie", "Retro", "Unplugged", "Sufi"],
                [
                    "Jazz Night", "Rock Fest", "Bollywood Beats", "Ghazal Evening", "EDM Party", "Qawwali", "Open Mic", "Carnatic Concert", "Hip-Hop Cypher",
                    "Live Gig",
                ],
                ["Live", "Vol. 2", "Season 3", "Weekender", "Special", "Unplugged", "Reloaded", "Edition"]
            )
        case .food:
            return (
                ["Street", "Coastal", "Royal", "Vegan", "Spicy", "Heritage", "Midnight", "Monsoon", "Artisanal", "Regional"],
                [
                    "Food Walk", "Biryani Trail", "Tasting Menu", "Chai Festival", "Dosa Crawl", "Dessert Fair", "Supper Club", "Cooking Class", "Brunch",
                    "Kebab Night",
                ],
                ["Festival", "Experience", "Pop-Up", "Edition", "Weekend", "Special"]
            )
        case .sports:
            return (
                ["City", "Monsoon", "Sunrise", "Corporate", "Weekend", "Night", "Coastal", "Hill", "Inter-College", "Open"],
                [
                    "Marathon", "Cricket League", "Football Cup", "Cyclothon", "Badminton Open", "Kabaddi Meet", "Trail Run", "Chess Championship", "Swimathon",
                    "Table Tennis Open",
                ],
                ["2026", "Challenge", "Series", "Finals", "Invitational", "Classic"]
            )
        case .tech:
            return (
                ["Cloud", "AI", "Open Source", "Startup", "Product", "Data", "Mobile", "Web3", "DevOps", "Security"],
                ["Summit", "Meetup", "Hackathon", "Conference", "Bootcamp", "Demo Day", "Workshop", "Unconference", "Tech Talk", "Panel"],
                ["India", "Day", "Live", "Edition", "Forum", "Weekend"]
            )
        case .arts:
            return (
                ["Contemporary", "Folk", "Modern", "Heritage", "Experimental", "Street", "Classical", "Miniature", "Abstract", "Tribal"],
                [
                    "Art Exhibition", "Theatre Play", "Dance Recital", "Poetry Slam", "Photo Walk", "Pottery Show", "Film Screening", "Stand-Up Comedy",
                    "Kathak Evening", "Gallery Night",
                ],
                ["Showcase", "Festival", "Premiere", "Retrospective", "Season", "Collective"]
            )
        case .health:
            return (
                ["Sunrise", "Mindful", "Holistic", "Power", "Gentle", "Urban", "Restorative", "Ayurvedic", "Breath", "Wellness"],
                [
                    "Yoga Session", "Meditation Retreat", "Zumba Class", "Health Camp", "Wellness Walk", "Pilates", "Sound Bath", "Nutrition Talk",
                    "Fitness Bootcamp", "Breathwork",
                ],
                ["Retreat", "Morning", "Series", "Camp", "Circle", "Weekend"]
            )
        case .workshop:
            return (
                ["Beginner", "Hands-On", "Weekend", "Masterclass", "Creative", "Practical", "Intensive", "Evening", "Family", "Advanced"],
                [
                    "Pottery Workshop", "Photography Course", "Calligraphy Class", "Woodworking", "Baking Workshop", "Painting Class", "Coding Workshop",
                    "Public Speaking", "Terrarium Making", "Block Printing",
                ],
                ["Workshop", "Session", "Lab", "Class", "Studio", "Batch"]
            )
        }
    }

    /// Two-sentence descriptions: an opening (with `{city}`) and a closing line.
    static let openings = [
        "Join us in {city} for an evening you will talk about for weeks.",
        "The most anticipated gathering in {city} this season is back.",
        "A community favourite in {city}, now bigger and better.",
        "Bring your friends and discover the best of {city}.",
        "Curated by local experts and loved by {city}.",
        "An intimate experience in the heart of {city}.",
    ]
    static let closings = [
        "Seats are limited, so book early.",
        "Entry includes refreshments and a welcome kit.",
        "Suitable for all ages; children under 5 enter free.",
        "Doors open 30 minutes before the start.",
        "Photography is welcome; please respect the performers.",
        "Wheelchair accessible venue with parking nearby.",
    ]

    static let venues = [
        "Phoenix Arena", "Town Hall", "Riverside Amphitheatre", "Community Centre", "Grand Ballroom", "Open Air Theatre",
        "Convention Centre", "Cultural Centre", "City Stadium", "Art Gallery", "The Warehouse", "Rooftop Lounge",
        "Heritage Courtyard", "Lakeside Pavilion", "Innovation Hub", "Club House", "Sports Complex", "Garden Lawns",
    ]

    static let rejectionNotes = [
        "Venue details are incomplete.", "Date clashes with a local restriction.", "Ticket price is not justified in the description.",
        "Images do not match the event.", "Host could not be reached for verification.",
    ]

    static let firstNames = [
        "Aarav", "Vivaan", "Aditya", "Vihaan", "Arjun", "Sai", "Reyansh", "Ayaan", "Krishna", "Ishaan", "Ananya", "Diya",
        "Aadhya", "Saanvi", "Pari", "Anika", "Navya", "Myra", "Sara", "Kiara", "Rohan", "Kabir", "Meera", "Priya",
        "Rahul", "Neha", "Vikram", "Pooja", "Siddharth", "Kavya", "Arnav", "Tara", "Dev", "Isha", "Nikhil", "Riya",
    ]
    static let lastNames = [
        "Sharma", "Verma", "Iyer", "Nair", "Reddy", "Patel", "Shah", "Gupta", "Singh", "Kumar", "Das", "Banerjee",
        "Mukherjee", "Menon", "Pillai", "Rao", "Joshi", "Kulkarni", "Desai", "Chatterjee", "Bhat", "Khan", "Fernandes", "Gill",
    ]

    /// (bank name, IFSC prefix).
    static let banks = [
        ("HDFC Bank", "HDFC"), ("State Bank of India", "SBIN"), ("ICICI Bank", "ICIC"), ("Axis Bank", "UTIB"),
        ("Kotak Mahindra Bank", "KKBK"), ("Punjab National Bank", "PUNB"), ("Bank of Baroda", "BARB"), ("Canara Bank", "CNRB"),
    ]

    /// Relative weights of the categories (music and food are the most common).
    static let categoryWeights: [Double] = [22, 18, 12, 14, 12, 8, 14]
}
