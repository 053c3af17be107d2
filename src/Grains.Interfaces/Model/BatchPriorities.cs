namespace OrleansLlm;

/// <summary>The names of <see cref="BatchPriority"/> as the CLI, Redis and <c>status</c> spell them.</summary>
public static class BatchPriorities
{
    /// <summary>Every class, highest first: the order workers lease in.</summary>
    public static IReadOnlyList<BatchPriority> All { get; } = [BatchPriority.High, BatchPriority.Normal, BatchPriority.Low];

    public static string Name(BatchPriority priority) => priority switch
    {
        BatchPriority.High => "high",
        BatchPriority.Low => "low",
        _ => "normal",
    };

    /// <returns>False when <paramref name="name"/> is not high, normal or low.</returns>
    public static bool TryParse(string? name, out BatchPriority priority)
    {
        priority = name switch
        {
            "high" => BatchPriority.High,
            "low" => BatchPriority.Low,
            _ => BatchPriority.Normal,
        };
        return name is "high" or "normal" or "low";
    }
}
