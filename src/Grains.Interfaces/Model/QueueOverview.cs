namespace OrleansLlm;

[GenerateSerializer, Immutable, Alias("OrleansLlm.QueueOverview")]
public sealed record QueueOverview(
    [property: Id(0)] string QueueName,
    [property: Id(1)] long Ready,
    [property: Id(2)] long InFlight,
    [property: Id(3)] long DeadLettered,
    [property: Id(4)] IReadOnlyList<string> RecentBatches);
