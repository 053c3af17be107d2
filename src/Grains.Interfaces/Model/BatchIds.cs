using System.Text.RegularExpressions;

namespace OrleansLlm;

public static partial class BatchIds
{
    /// <summary>The batch that raw items (pushed straight into Redis, e.g. by Bento) belong to.</summary>
    public const string Default = "default";

    /// <summary>Batch ids end up in Redis key names and in the queue envelope, so keep them plain.</summary>
    public static bool IsValid(string? id) => id is not null && ValidId().IsMatch(id);

    public static string New(TimeProvider time) =>
        $"b-{time.GetUtcNow():yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex ValidId();
}
