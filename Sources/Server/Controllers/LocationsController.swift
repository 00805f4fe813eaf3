import Foundation
import HappeningGeo
import Hummingbird

/// `GET /api/locations/autocomplete?q=` from the offline gazetteer (no internet calls).
struct LocationsController: Sendable {
    let gazetteer: Gazetteer

    struct Suggestion: Encodable {
        let id: String
        let name: String
        let state: String
        let latitude: Double
        let longitude: Double
    }

    struct Suggestions: ResponseEncodable, Encodable {
        let suggestions: [Suggestion]
        let fromCache: Bool
    }

    @Sendable func autocomplete(request: Request, context: AppRequestContext) async throws -> Suggestions {
        _ = try context.requireUser()
        let query = request.uri.queryParameters.get("q") ?? ""
        guard query.count <= 100 else { throw AppError.validation(["q": "must be at most 100 characters"]) }
        guard query.trimmingCharacters(in: .whitespaces).count >= 2 else { return Suggestions(suggestions: [], fromCache: false) }
        let cities = gazetteer.suggestions(for: query)
        return Suggestions(
            suggestions: cities.map { Suggestion(id: $0.id, name: "\($0.name), \($0.state)", state: $0.state, latitude: $0.latitude, longitude: $0.longitude) },
            fromCache: true)
    }
}
