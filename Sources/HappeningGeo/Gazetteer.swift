/// An offline gazetteer: city names to coordinates, so geocoding never calls the internet (the original
/// called Nominatim inside requests). Holds every Indian state and union-territory capital and the
/// country's other large cities.
public struct Gazetteer: Sendable {
    /// A place the gazetteer knows.
    public struct City: Sendable, Equatable, Codable {
        /// Stable id: the lowercased name with spaces as dashes (e.g. `new-delhi`).
        public let id: String
        public let name: String
        public let state: String
        public let latitude: Double
        public let longitude: Double
    }

    /// Every city, in name order.
    public let cities: [City]
    private let byKey: [String: City]

    /// The gazetteer shipped with Happening.
    public init() {
        let cities = gazetteerRows.map { row in
            City(id: Self.normalise(row.0).split(separator: " ").joined(separator: "-"), name: row.0, state: row.1, latitude: row.2, longitude: row.3)
        }.sorted { $0.name < $1.name }
        self.cities = cities
        var byKey: [String: City] = [:]
        for city in cities {
            byKey[Self.normalise(city.name)] = city
            byKey[city.id] = city
        }
        for (alias, name) in gazetteerAliases { byKey[Self.normalise(alias)] = byKey[Self.normalise(name)] }
        self.byKey = byKey
    }

    /// The city called `name` (case, spacing and common old names tolerated), if known.
    public func city(named name: String) -> City? { byKey[Self.normalise(name)] }

    /// Cities whose name starts with `prefix` (then those containing it), at most `limit`.
    public func suggestions(for prefix: String, limit: Int = 5) -> [City] {
        let needle = Self.normalise(prefix)
        guard !needle.isEmpty else { return [] }
        let starts = cities.filter { Self.normalise($0.name).hasPrefix(needle) }
        let contains = cities.filter { !Self.normalise($0.name).hasPrefix(needle) && Self.normalise($0.name).contains(needle) }
        return Array((starts + contains).prefix(limit))
    }

    static func normalise(_ text: String) -> String {
        text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).joined(separator: " ")
    }
}

/// Older or alternative names people type.
private let gazetteerAliases: [(String, String)] = [
    ("Bombay", "Mumbai"), ("Bangalore", "Bengaluru"), ("Calcutta", "Kolkata"), ("Madras", "Chennai"),
    ("Delhi", "New Delhi"), ("Gurgaon", "Gurugram"), ("Trivandrum", "Thiruvananthapuram"), ("Poona", "Pune"),
    ("Baroda", "Vadodara"), ("Mysore", "Mysuru"), ("Mangalore", "Mangaluru"), ("Cochin", "Kochi"),
    ("Benares", "Varanasi"), ("Pondicherry", "Puducherry"), ("Simla", "Shimla"), ("Allahabad", "Prayagraj"),
]

/// (name, state or union territory, latitude, longitude). State and UT capitals first.
private let gazetteerRows: [(String, String, Double, Double)] = [
    ("Amaravati", "Andhra Pradesh", 16.5131, 80.5165), ("Itanagar", "Arunachal Pradesh", 27.0844, 93.6053),
    ("Dispur", "Assam", 26.1433, 91.7898), ("Patna", "Bihar", 25.5941, 85.1376),
    ("Raipur", "Chhattisgarh", 21.2514, 81.6296), ("Panaji", "Goa", 15.4909, 73.8278),
    ("Gandhinagar", "Gujarat", 23.2156, 72.6369), ("Chandigarh", "Chandigarh", 30.7333, 76.7794),
    ("Shimla", "Himachal Pradesh", 31.1048, 77.1734), ("Ranchi", "Jharkhand", 23.3441, 85.3096),
    ("Bengaluru", "Karnataka", 12.9716, 77.5946), ("Thiruvananthapuram", "Kerala", 8.5241, 76.9366),
    ("Bhopal", "Madhya Pradesh", 23.2599, 77.4126), ("Mumbai", "Maharashtra", 19.0760, 72.8777),
    ("Imphal", "Manipur", 24.8170, 93.9368), ("Shillong", "Meghalaya", 25.5788, 91.8933),
    ("Aizawl", "Mizoram", 23.7271, 92.7176), ("Kohima", "Nagaland", 25.6751, 94.1086),
    ("Bhubaneswar", "Odisha", 20.2961, 85.8245), ("Jaipur", "Rajasthan", 26.9124, 75.7873),
    ("Gangtok", "Sikkim", 27.3389, 88.6065), ("Chennai", "Tamil Nadu", 13.0827, 80.2707),
    ("Hyderabad", "Telangana", 17.3850, 78.4867), ("Agartala", "Tripura", 23.8315, 91.2868),
    ("Lucknow", "Uttar Pradesh", 26.8467, 80.9462), ("Dehradun", "Uttarakhand", 30.3165, 78.0322),
    ("Kolkata", "West Bengal", 22.5726, 88.3639), ("New Delhi", "Delhi", 28.6139, 77.2090),
    ("Srinagar", "Jammu and Kashmir", 34.0837, 74.7973), ("Jammu", "Jammu and Kashmir", 32.7266, 74.8570),
    ("Leh", "Ladakh", 34.1526, 77.5771), ("Puducherry", "Puducherry", 11.9416, 79.8083),
    ("Port Blair", "Andaman and Nicobar Islands", 11.6234, 92.7265), ("Kavaratti", "Lakshadweep", 10.5669, 72.6420),
    ("Daman", "Dadra and Nagar Haveli and Daman and Diu", 20.3974, 72.8328),
    ("Ahmedabad", "Gujarat", 23.0225, 72.5714), ("Surat", "Gujarat", 21.1702, 72.8311),
    ("Vadodara", "Gujarat", 22.3072, 73.1812), ("Rajkot", "Gujarat", 22.3039, 70.8022),
    ("Bhavnagar", "Gujarat", 21.7645, 72.1519), ("Jamnagar", "Gujarat", 22.4707, 70.0577),
    ("Pune", "Maharashtra", 18.5204, 73.8567), ("Nagpur", "Maharashtra", 21.1458, 79.0882),
    ("Nashik", "Maharashtra", 19.9975, 73.7898), ("Aurangabad", "Maharashtra", 19.8762, 75.3433),
    ("Solapur", "Maharashtra", 17.6599, 75.9064), ("Thane", "Maharashtra", 19.2183, 72.9781),
    ("Navi Mumbai", "Maharashtra", 19.0330, 73.0297), ("Kolhapur", "Maharashtra", 16.7050, 74.2433),
    ("Amravati", "Maharashtra", 20.9374, 77.7796), ("Indore", "Madhya Pradesh", 22.7196, 75.8577),
    ("Jabalpur", "Madhya Pradesh", 23.1815, 79.9864), ("Gwalior", "Madhya Pradesh", 26.2183, 78.1828),
    ("Ujjain", "Madhya Pradesh", 23.1765, 75.7885), ("Kanpur", "Uttar Pradesh", 26.4499, 80.3319),
    ("Agra", "Uttar Pradesh", 27.1767, 78.0081), ("Varanasi", "Uttar Pradesh", 25.3176, 82.9739),
    ("Prayagraj", "Uttar Pradesh", 25.4358, 81.8463), ("Meerut", "Uttar Pradesh", 28.9845, 77.7064),
    ("Ghaziabad", "Uttar Pradesh", 28.6692, 77.4538), ("Noida", "Uttar Pradesh", 28.5355, 77.3910),
    ("Aligarh", "Uttar Pradesh", 27.8974, 78.0880), ("Bareilly", "Uttar Pradesh", 28.3670, 79.4304),
    ("Moradabad", "Uttar Pradesh", 28.8386, 78.7733), ("Gorakhpur", "Uttar Pradesh", 26.7606, 83.3732),
    ("Gurugram", "Haryana", 28.4595, 77.0266), ("Faridabad", "Haryana", 28.4089, 77.3178),
    ("Panipat", "Haryana", 29.3909, 76.9635), ("Ludhiana", "Punjab", 30.9010, 75.8573),
    ("Amritsar", "Punjab", 31.6340, 74.8723), ("Jalandhar", "Punjab", 31.3260, 75.5762),
    ("Patiala", "Punjab", 30.3398, 76.3869), ("Jodhpur", "Rajasthan", 26.2389, 73.0243),
    ("Udaipur", "Rajasthan", 24.5854, 73.7125), ("Kota", "Rajasthan", 25.2138, 75.8648),
    ("Bikaner", "Rajasthan", 28.0229, 73.3119), ("Ajmer", "Rajasthan", 26.4499, 74.6399),
    ("Coimbatore", "Tamil Nadu", 11.0168, 76.9558), ("Madurai", "Tamil Nadu", 9.9252, 78.1198),
    ("Tiruchirappalli", "Tamil Nadu", 10.7905, 78.7047), ("Salem", "Tamil Nadu", 11.6643, 78.1460),
    ("Tirunelveli", "Tamil Nadu", 8.7139, 77.7567), ("Vellore", "Tamil Nadu", 12.9165, 79.1325),
    ("Mysuru", "Karnataka", 12.2958, 76.6394), ("Mangaluru", "Karnataka", 12.9141, 74.8560),
    ("Hubballi", "Karnataka", 15.3647, 75.1240), ("Belagavi", "Karnataka", 15.8497, 74.4977),
    ("Kochi", "Kerala", 9.9312, 76.2673), ("Kozhikode", "Kerala", 11.2588, 75.7804),
    ("Thrissur", "Kerala", 10.5276, 76.2144), ("Visakhapatnam", "Andhra Pradesh", 17.6868, 83.2185),
    ("Vijayawada", "Andhra Pradesh", 16.5062, 80.6480), ("Guntur", "Andhra Pradesh", 16.3067, 80.4365),
    ("Tirupati", "Andhra Pradesh", 13.6288, 79.4192), ("Nellore", "Andhra Pradesh", 14.4426, 79.9865),
    ("Warangal", "Telangana", 17.9689, 79.5941), ("Howrah", "West Bengal", 22.5958, 88.2636),
    ("Durgapur", "West Bengal", 23.5204, 87.3119), ("Asansol", "West Bengal", 23.6739, 86.9524),
    ("Siliguri", "West Bengal", 26.7271, 88.3953), ("Guwahati", "Assam", 26.1445, 91.7362),
    ("Cuttack", "Odisha", 20.4625, 85.8830), ("Rourkela", "Odisha", 22.2604, 84.8536),
    ("Jamshedpur", "Jharkhand", 22.8046, 86.2029), ("Dhanbad", "Jharkhand", 23.7957, 86.4304),
    ("Bhilai", "Chhattisgarh", 21.1938, 81.3509), ("Bilaspur", "Chhattisgarh", 22.0797, 82.1409),
    ("Gaya", "Bihar", 24.7914, 85.0002), ("Bhagalpur", "Bihar", 25.2425, 86.9842),
    ("Muzaffarpur", "Bihar", 26.1209, 85.3647), ("Haridwar", "Uttarakhand", 29.9457, 78.1642),
    ("Rishikesh", "Uttarakhand", 30.0869, 78.2676), ("Margao", "Goa", 15.2832, 73.9862),
    ("Dharamshala", "Himachal Pradesh", 32.2190, 76.3234), ("Manali", "Himachal Pradesh", 32.2432, 77.1892),
]

extension Gazetteer {
    /// The approximate population of `city` in thousands (urban agglomeration, census 2011, rounded), used
    /// to weight where generated data lands; small places not listed count as 100.
    public func populationThousands(of city: City) -> Int {
        gazetteerPopulationThousands[city.name] ?? 100
    }
}

/// Approximate urban-agglomeration populations (thousands, census 2011, rounded).
private let gazetteerPopulationThousands: [String: Int] = [
    "Mumbai": 18_400, "New Delhi": 16_300, "Kolkata": 14_100, "Chennai": 8_700, "Bengaluru": 8_500,
    "Hyderabad": 7_700, "Ahmedabad": 6_400, "Pune": 5_000, "Surat": 4_600, "Jaipur": 3_100, "Kanpur": 2_900,
    "Lucknow": 2_900, "Nagpur": 2_500, "Indore": 2_200, "Coimbatore": 2_100, "Kochi": 2_100, "Patna": 2_000,
    "Kozhikode": 2_000, "Bhopal": 1_900, "Thrissur": 1_900, "Thane": 1_840, "Vadodara": 1_800, "Agra": 1_700,
    "Visakhapatnam": 1_700, "Thiruvananthapuram": 1_700, "Ghaziabad": 1_600, "Ludhiana": 1_600, "Nashik": 1_600,
    "Vijayawada": 1_500, "Madurai": 1_500, "Varanasi": 1_400, "Meerut": 1_400, "Faridabad": 1_400, "Rajkot": 1_400,
    "Jamshedpur": 1_300, "Srinagar": 1_300, "Jabalpur": 1_300, "Asansol": 1_200, "Aurangabad": 1_200,
    "Dhanbad": 1_200, "Amritsar": 1_200, "Prayagraj": 1_200, "Navi Mumbai": 1_120, "Ranchi": 1_100,
    "Howrah": 1_100, "Gwalior": 1_100, "Jodhpur": 1_100, "Raipur": 1_100, "Bhilai": 1_060, "Kota": 1_000,
    "Chandigarh": 1_000, "Tiruchirappalli": 1_000, "Mysuru": 990, "Guwahati": 960, "Solapur": 950,
    "Puducherry": 950, "Hubballi": 940, "Salem": 920, "Aligarh": 910, "Bareilly": 900, "Moradabad": 890,
    "Bhubaneswar": 890, "Gurugram": 880, "Jalandhar": 860, "Warangal": 760, "Kolhapur": 750, "Dehradun": 710,
    "Siliguri": 700, "Guntur": 670, "Gorakhpur": 670, "Cuttack": 660, "Amravati": 650, "Bikaner": 650,
    "Jammu": 650, "Noida": 640, "Mangaluru": 620, "Belagavi": 610, "Bhavnagar": 600, "Jamnagar": 600,
    "Durgapur": 580, "Nellore": 560, "Ajmer": 550, "Rourkela": 550, "Ujjain": 520, "Agartala": 520,
    "Tirunelveli": 500, "Vellore": 480, "Udaipur": 470, "Gaya": 470, "Tirupati": 460, "Patiala": 450,
    "Bilaspur": 450, "Imphal": 410, "Bhagalpur": 400, "Muzaffarpur": 390, "Shillong": 350, "Panipat": 290,
    "Gandhinagar": 290, "Aizawl": 290, "Haridwar": 230, "Shimla": 170, "Port Blair": 140, "Panaji": 110,
    "Gangtok": 100, "Kohima": 100, "Rishikesh": 100, "Margao": 90, "Itanagar": 60, "Dharamshala": 50,
    "Daman": 40, "Leh": 30, "Kavaratti": 11, "Manali": 10,
]
