namespace OllamaSim;

/// <summary>
/// A snapshot of the request log: the recorded requests, oldest first, and how many were recorded and dropped
/// since start or the last clear. What GET /sim/requests returns.
/// </summary>
/// <param name="Capacity">How many requests the log keeps (<see cref="SimulatorOptions.RequestLogCapacity"/>).</param>
/// <param name="Recorded">Requests recorded since start or the last clear, kept or not.</param>
/// <param name="Dropped">Of those, how many the log no longer holds because newer ones took their place.</param>
/// <param name="Requests">The requests asked for, oldest first.</param>
public sealed record RecordedRequests(int Capacity, long Recorded, long Dropped, IReadOnlyList<RecordedRequest> Requests);
