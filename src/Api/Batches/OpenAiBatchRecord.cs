using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

namespace OrleansLlm.Api.Batches;

/// <summary>What Redis keeps of an API batch beside its <see cref="IBatchGrain"/> batch: one hash (<see cref="ApiRedisKeys.Batch"/>).</summary>
/// <param name="State">
/// <see cref="Validating"/> until its input file is read, then <see cref="Submitted"/> (its status is then its
/// batch's), <see cref="OpenAiBatchStates.Failed"/> (refused at validation) or <see cref="OpenAiBatchStates.Cancelled"/>
/// (cancelled before its batch was created).
/// </param>
/// <param name="EndedStatus">The status its end was recorded with; null while it runs.</param>
/// <param name="Published">True once its end was handed to <see cref="IBatchEndedPublisher"/>.</param>
/// <param name="Final">
/// Its figures when it ended (total, completed, failed, input and output tokens), shown once its batch's keys have
/// expired (<c>Queue:ResultTtl</c>) while this record is kept longer (<see cref="ApiOptions.FileTtl"/>).
/// </param>
public sealed record OpenAiBatchRecord(
    string Tenant,
    string KeyId,
    string InputFileId,
    string Endpoint,
    string CompletionWindow,
    TimeSpan Window,
    IReadOnlyDictionary<string, string> Metadata,
    DateTimeOffset CreatedAt,
    string State,
    IReadOnlyList<OpenAiBatchError> Errors,
    DateTimeOffset? InProgressAt = null,
    DateTimeOffset? CancellingAt = null,
    DateTimeOffset? EndedAt = null,
    string? EndedStatus = null,
    string? OutputFileId = null,
    string? ErrorFileId = null,
    bool Published = false,
    long[]? Final = null)
{
    public const string Validating = OpenAiBatchStates.Validating;
    public const string Submitted = "submitted";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Its status as the record alone tells it (<see cref="OpenAiBatchStates"/>), without asking its batch: what the
    /// <c>orleansllm_api_batches</c> gauge counts. A batch that has finished shows <c>in_progress</c> here until its
    /// end is recorded, at the next read of it or the sweep's next round.
    /// </summary>
    public string Status =>
        EndedStatus
        ?? (State is OpenAiBatchStates.Failed or OpenAiBatchStates.Cancelled ? State
            : CancellingAt is not null ? OpenAiBatchStates.Cancelling
            : State == Submitted ? OpenAiBatchStates.InProgress
            : State);

    public HashEntry[] ToHash() =>
    [
        new("tenant", Tenant),
        new("key", KeyId),
        new("input", InputFileId),
        new("endpoint", Endpoint),
        new("window", CompletionWindow),
        new("window_ms", (long)Window.TotalMilliseconds),
        new("metadata", JsonSerializer.Serialize(Metadata, Json)),
        new("created", CreatedAt.ToUnixTimeMilliseconds()),
        new("state", State),
        new("errors", JsonSerializer.Serialize(Errors, Json)),
        new("in_progress", Ms(InProgressAt)),
        new("cancelling", Ms(CancellingAt)),
        new("ended", Ms(EndedAt)),
        new("ended_status", EndedStatus ?? string.Empty),
        new("output", OutputFileId ?? string.Empty),
        new("error", ErrorFileId ?? string.Empty),
        new("published", Published ? 1 : 0),
        new("final", Final is null ? string.Empty : string.Join(',', Final)),
    ];

    /// <returns>The record; null when the hash is empty (no such batch, or it expired).</returns>
    public static OpenAiBatchRecord? From(HashEntry[] hash)
    {
        var f = hash.ToDictionary(e => (string)e.Name!, e => (string)e.Value!, StringComparer.Ordinal);
        if (!f.TryGetValue("tenant", out var tenant))
        {
            return null;
        }

        long? Number(string name) => long.TryParse(f.GetValueOrDefault(name), CultureInfo.InvariantCulture, out var n) ? n : null;
        DateTimeOffset? At(string name) => Number(name) is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
        string? Text(string name) => f.GetValueOrDefault(name) is { Length: > 0 } v ? v : null;
        return new OpenAiBatchRecord(
            tenant,
            f.GetValueOrDefault("key", ""),
            f.GetValueOrDefault("input", ""),
            f.GetValueOrDefault("endpoint", ""),
            f.GetValueOrDefault("window", ""),
            TimeSpan.FromMilliseconds(Number("window_ms") ?? 0),
            JsonSerializer.Deserialize<Dictionary<string, string>>(f.GetValueOrDefault("metadata", "{}"), Json) ?? [],
            At("created") ?? DateTimeOffset.UnixEpoch,
            f.GetValueOrDefault("state", Validating),
            JsonSerializer.Deserialize<List<OpenAiBatchError>>(f.GetValueOrDefault("errors", "[]"), Json) ?? [],
            At("in_progress"),
            At("cancelling"),
            At("ended"),
            Text("ended_status"),
            Text("output"),
            Text("error"),
            Number("published") == 1,
            Text("final")?.Split(',').Select(n => long.Parse(n, CultureInfo.InvariantCulture)).ToArray());
    }

    private static string Ms(DateTimeOffset? at) => at?.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) ?? string.Empty;
}
