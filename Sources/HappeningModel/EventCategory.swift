/// The event categories (the database enum `event_category`'s values, in its order).
public enum EventCategory: String, CaseIterable, Sendable, Codable {
    case music, food, sports, tech, arts, health, workshop
}
