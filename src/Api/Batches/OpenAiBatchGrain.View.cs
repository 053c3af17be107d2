using OrleansLlm.Api.Files;

namespace OrleansLlm.Api.Batches;

public sealed partial class OpenAiBatchGrain
{
    /// <summary>The batch now: its status and figures from its <see cref="IBatchGrain"/> batch once submitted, else from its record.</summary>
    private async Task<OpenAiBatchView> ViewAsync(OpenAiBatchRecord r, CancellationToken ct)
    {
        var (status, total, done, dead, usage) = (r.State, 0L, 0L, 0L, TokenUsage.Zero);
        if (r.State == OpenAiBatchRecord.Submitted)
        {
            var counts = await batches.GetCountsAsync(BatchId, ct);
            usage = await batches.GetUsageAsync(BatchId, ct);
            (status, total, done, dead) = (counts.Status, counts.Total, counts.Done, counts.DeadLettered);
            if (!counts.Exists && r.Final is [var t, var c, var f, var input, var output])
            {
                // Its batch was forgotten after Queue:ResultTtl: it shows what it was when it ended.
                (status, total, done, dead, usage) = (r.EndedStatus!, t, c, f, new TokenUsage(input, output, TimeSpan.Zero));
            }
            else if (!counts.Exists)
            {
                status = r.EndedStatus ?? OpenAiBatchStates.Expired;
            }
        }
        else if (r.State == OpenAiBatchRecord.Validating && r.CancellingAt is not null)
        {
            status = OpenAiBatchStates.Cancelling;
        }

        var times = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal) { ["created"] = r.CreatedAt };
        if (r.Window > TimeSpan.Zero)
        {
            times["expires"] = r.CreatedAt + r.Window;
        }

        Add("in_progress", r.InProgressAt);
        Add("cancelling", r.CancellingAt);
        if (r.EndedAt is { } ended && r.EndedStatus is { } endedStatus)
        {
            times[endedStatus] = ended;
            // Results are written as they come, so a batch finalizes the moment its last request ends.
            Add("finalizing", endedStatus == OpenAiBatchStates.Completed ? ended : null);
        }

        return new OpenAiBatchView(
            BatchId, r.Tenant, r.Endpoint, r.InputFileId, r.CompletionWindow, status, r.OutputFileId, r.ErrorFileId,
            times, total, done, dead, usage, r.Metadata, r.Errors);

        void Add(string name, DateTimeOffset? at)
        {
            if (at is { } value)
            {
                times[name] = value;
            }
        }
    }

    /// <summary>
    /// Records a batch's end once: its time, its output and error files (kept for a cancelled or expired batch too),
    /// then tells <see cref="IBatchEndedPublisher"/>, then marks it told. A silo lost before the mark has it told again.
    /// </summary>
    private async Task<OpenAiBatchView> EndAsync(OpenAiBatchView view, CancellationToken ct)
    {
        var r = _record!;
        if (r.EndedAt is null)
        {
            var counts = r.State == OpenAiBatchRecord.Submitted ? await batches.GetCountsAsync(BatchId, ct) : null;
            var endedAt = counts?.Ended ?? time.GetUtcNow();
            r = r with
            {
                EndedAt = endedAt,
                EndedStatus = view.Status,
                OutputFileId = view.Completed > 0 ? await MakeFileAsync(r, errors: false, endedAt, counts?.Expires, ct) : null,
                ErrorFileId = view.Failed > 0 ? await MakeFileAsync(r, errors: true, endedAt, counts?.Expires, ct) : null,
                Final = [view.Total, view.Completed, view.Failed, view.Usage.PromptTokens, view.Usage.CompletionTokens],
            };
            _record = r;
            await store.EndAsync(BatchId, r, ct);
            view = await ViewAsync(r, ct);
            LogEnded(logger, BatchId, view.Status, view.Completed, view.Failed);
        }

        try
        {
            await publisher.PublishAsync(view, ct);
        }
        catch (Exception ex)
        {
            // Not marked told: the next read or sweep tells it again.
            LogPublishFailed(logger, BatchId, ex);
            return view;
        }

        await SaveAsync(r with { Published = true }, ct);
        await store.CloseAsync(BatchId);
        return view;
    }

    /// <returns>The id of the batch's output (or error) file, served from its results (or dead letters) as they are in Redis.</returns>
    private async Task<string> MakeFileAsync(OpenAiBatchRecord r, bool errors, DateTimeOffset endedAt, DateTimeOffset? expires, CancellationToken ct)
    {
        var kind = errors ? "error" : "output";
        var id = $"file-{BatchId.Replace(BatchIdPrefix, string.Empty, StringComparison.Ordinal)}-{kind}";
        var file = new ApiFile(id, r.Tenant, $"{BatchId}_{kind}.jsonl", "batch_output", 0, endedAt, expires ?? endedAt + options.Value.FileTtl, BatchId, errors);
        file = file with { Bytes = await content.CountAsync(file, ct) };
        await files.CommitAsync(file, ct);
        return id;
    }

    public const string BatchIdPrefix = "batch_";
}
