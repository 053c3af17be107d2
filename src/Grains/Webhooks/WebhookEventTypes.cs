namespace OrleansLlm.Webhooks;

/// <summary>The events a batch's end publishes, named as OpenAI names them.</summary>
public static class WebhookEventTypes
{
    public const string BatchCompleted = "batch.completed";
    public const string BatchFailed = "batch.failed";
    public const string BatchExpired = "batch.expired";
    public const string BatchCancelled = "batch.cancelled";

    public static IReadOnlyList<string> All { get; } = [BatchCompleted, BatchFailed, BatchExpired, BatchCancelled];

    public static bool IsKnown(string? type) => type is not null && All.Contains(type, StringComparer.Ordinal);
}
