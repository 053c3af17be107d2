using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLlm.Api.Files;
using OrleansLlm.Batches;

namespace OrleansLlm.Api.Batches;

/// <summary>
/// An OpenAI batch: validates its input file into an <see cref="IBatchGrain"/> batch of the same id, reports it in
/// OpenAI's terms, and records its end once. Its record is in Redis (<see cref="ApiBatchStore"/>); this activation
/// keeps a copy, changed only on the grain's own turns, so a validation running beside a cancel loses neither.
/// </summary>
/// <remarks>
/// A validation lives in the activation that runs it. Should its silo die, the next activation finds the record still
/// validating and starts over (the next read or the sweep brings one up); creating the batch and adding its items
/// again change nothing, since both go by id.
/// </remarks>
public sealed partial class OpenAiBatchGrain(
    ApiBatchStore store,
    ApiFileStore files,
    ShardedBatchStore batches,
    IFileContent content,
    IBatchEndedPublisher publisher,
    IOptions<ApiOptions> options,
    TimeProvider time,
    ILogger<OpenAiBatchGrain> logger) : Grain, IOpenAiBatchGrain
{
    private OpenAiBatchRecord? _record;
    private Task? _validation;

    private string BatchId => this.GetPrimaryKeyString();

    private IBatchGrain Batch => GrainFactory.GetGrain<IBatchGrain>(BatchId);

    public async Task<OpenAiBatchView> CreateAsync(OpenAiBatchRequest request, CancellationToken cancellationToken)
    {
        var record = new OpenAiBatchRecord(
            request.Tenant, request.KeyId, request.InputFileId, request.Endpoint, request.CompletionWindow, request.Window,
            request.Metadata, time.GetUtcNow(), OpenAiBatchRecord.Validating, []);
        if (await store.CreateAsync(BatchId, record, cancellationToken))
        {
            _record = record;
        }

        return (await GetAsync(request.Tenant, cancellationToken))!;
    }

    public async Task<OpenAiBatchView?> GetAsync(string? tenant, CancellationToken cancellationToken)
    {
        if (await LoadAsync(tenant, cancellationToken) is not { } record)
        {
            return null;
        }

        if (record.State == OpenAiBatchRecord.Validating && _validation is not { IsCompleted: false })
        {
            _validation = ValidateAsync();
        }

        var view = await ViewAsync(record, cancellationToken);
        return view.HasEnded && !record.Published ? await EndAsync(view, cancellationToken) : view;
    }

    public async Task<OpenAiBatchView?> CancelAsync(string? tenant, CancellationToken cancellationToken)
    {
        if (await GetAsync(tenant, cancellationToken) is not { } view)
        {
            return null;
        }

        if (view.HasEnded)
        {
            throw new InvalidOperationException($"Batch {BatchId} is {view.Status} already; only a batch that is validating or in progress can be cancelled.");
        }

        if (_record!.CancellingAt is null)
        {
            await SaveAsync(_record with { CancellingAt = time.GetUtcNow() }, cancellationToken);
        }

        // A validation still running sees the cancel between two chunks of items and stops there.
        if (_record.State == OpenAiBatchRecord.Submitted)
        {
            await Batch.CancelAsync(cancellationToken);
        }

        return await GetAsync(tenant, cancellationToken);
    }

    public async Task<OpenAiBatchView?> RetryAsync(string? tenant, CancellationToken cancellationToken)
    {
        if (await GetAsync(tenant, cancellationToken) is not { } view)
        {
            return null;
        }

        if (_record!.State != OpenAiBatchRecord.Submitted)
        {
            throw new InvalidOperationException($"Batch {BatchId} is {view.Status}; it never ran, so it has no failed requests to retry.");
        }

        var retry = await Batch.RetryAsync(cancellationToken);
        if (retry.Retried > 0 && _record.EndedAt is not null)
        {
            // It runs again: its end, and the files made at it, are recorded anew when it ends again.
            foreach (var fileId in new[] { _record.OutputFileId, _record.ErrorFileId }.OfType<string>())
            {
                if (await files.GetAsync(fileId, cancellationToken) is { } file)
                {
                    await files.DeleteAsync(file, cancellationToken);
                }
            }

            _record = _record with { EndedAt = null, EndedStatus = null, OutputFileId = null, ErrorFileId = null, Published = false, Final = null };
            await store.ReopenAsync(BatchId, _record, cancellationToken);
        }

        return await GetAsync(tenant, cancellationToken);
    }

    private async Task<OpenAiBatchRecord?> LoadAsync(string? tenant, CancellationToken cancellationToken)
    {
        _record ??= await store.GetAsync(BatchId, cancellationToken);
        return _record is { } record && (tenant is null || record.Tenant == tenant) ? record : null;
    }

    private async Task SaveAsync(OpenAiBatchRecord record, CancellationToken cancellationToken)
    {
        _record = record;
        await store.SaveAsync(BatchId, record, cancellationToken);
    }
}
