using OrleansLlm.Api.Files;
using OrleansLlm.Client.Input;

namespace OrleansLlm.Api.Batches;

public sealed partial class OpenAiBatchGrain
{
    private const int ChunkSize = 1000;

    /// <summary>What a batch's input file was found to be: the spec of its batch, and where its items are read from.</summary>
    private sealed record CheckedInput(BatchSpec Spec, ApiFile File, OpenAiBatchOverrides Overrides);

    /// <summary>
    /// Reads the input file through <see cref="OpenAiBatchReader"/>: the batch fails with the lines it refuses, or is
    /// created, given its items a chunk at a time, and sealed. Runs on the grain's turns, beside its calls.
    /// </summary>
    private async Task ValidateAsync()
    {
        var ct = CancellationToken.None;
        try
        {
            if (_record!.CancellingAt is not null && await batches.GetAsync(BatchId, ct) is null)
            {
                await SaveAsync(_record with { State = OpenAiBatchStates.Cancelled }, ct);
                return;
            }

            var (input, errors) = await CheckInputAsync(_record, ct);
            if (input is null)
            {
                LogRefused(logger, BatchId, errors.Count, errors[0].Message);
                await SaveAsync(_record! with { State = OpenAiBatchStates.Failed, Errors = errors }, ct);
                return;
            }

            await SubmitAsync(input, ct);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or InvalidDataException or IOException)
        {
            // The batch grain refused it (Redis over its high-water mark, a spec it won't take), or the file went.
            LogRefused(logger, BatchId, 1, ex.Message);
            await SaveAsync(_record! with { State = OpenAiBatchStates.Failed, Errors = [new OpenAiBatchError("batch_refused", ex.Message)] }, ct);
        }
        catch (Exception ex)
        {
            // Left validating: the next read, or the sweep, starts it over.
            LogValidationFailed(logger, BatchId, ex);
        }
    }

    private async Task<(CheckedInput? Input, IReadOnlyList<OpenAiBatchError> Errors)> CheckInputAsync(OpenAiBatchRecord record, CancellationToken ct)
    {
        if (await files.GetAsync(record.InputFileId, ct) is not { Batch: null } file || file.Tenant != record.Tenant)
        {
            return (null, [new OpenAiBatchError("invalid_input_file", $"No such File object: {record.InputFileId}", Param: "input_file_id")]);
        }

        var (metadata, param, error) = BatchMetadata.Read(record.Metadata);
        if (metadata is null)
        {
            return (null, [new OpenAiBatchError("invalid_metadata", error!, Param: param)]);
        }

        var check = await OpenAiBatchReader.CheckAsync(() => files.OpenRead(file), file.Filename, metadata.Overrides, limit: null, ct);
        var max = options.Value.MaxRequestsPerBatch;
        IReadOnlyList<OpenAiBatchError>? errors =
            check.ErrorCount > 0 ? LineErrors(check)
            : check.ItemCount == 0 ? [new OpenAiBatchError("empty_file", "The input file has no requests.", Param: "input_file_id")]
            : check.Url != record.Endpoint ? [new OpenAiBatchError("mismatched_endpoint", $"The requests of the input file are for {check.Url}, not for the batch's endpoint {record.Endpoint}.", 1, "endpoint")]
            : check.ItemCount > max ? [new OpenAiBatchError("too_many_requests", $"The input file has {check.ItemCount} requests; a batch takes at most {max} (Api:MaxRequestsPerBatch).", Param: "input_file_id")]
            : null;
        return errors is not null
            ? (null, errors)
            : (new CheckedInput(check.Spec with { Priority = metadata.Priority, CompletionWindow = record.Window, Tenant = record.Tenant }, file, metadata.Overrides), []);
    }

    private async Task SubmitAsync(CheckedInput input, CancellationToken ct)
    {
        await Batch.CreateAsync(input.Spec, ct);
        var items = OpenAiBatchReader.ReadItemsAsync(() => files.OpenRead(input.File), input.File.Filename, input.Overrides, limit: null, ct);
        await foreach (var chunk in items.Chunk(ChunkSize).WithCancellation(ct))
        {
            // A cancel came while the items went in: what is in is cancelled, the rest never goes.
            if (_record!.CancellingAt is not null)
            {
                break;
            }

            await Batch.AddItemsAsync(chunk, ct);
        }

        if (_record!.CancellingAt is not null)
        {
            await Batch.CancelAsync(ct);
            await SaveAsync(_record with { State = OpenAiBatchRecord.Submitted }, ct);
            return;
        }

        await Batch.SealAsync(ct);
        await SaveAsync(_record with { State = OpenAiBatchRecord.Submitted, InProgressAt = time.GetUtcNow() }, ct);
        LogSubmitted(logger, BatchId, input.Spec.Model ?? "(the silo's model)");
    }

    /// <summary>The refused lines as <c>errors.data</c>, and a last entry for those past the first few when there are more.</summary>
    private static List<OpenAiBatchError> LineErrors(OpenAiBatch check)
    {
        var errors = (check.BadLines ?? []).Select(bad => new OpenAiBatchError(CodeOf(bad.Why), bad.Why, bad.Line)).ToList();
        if (check.ErrorCount > errors.Count)
        {
            errors.Add(new OpenAiBatchError("too_many_errors", $"{check.ErrorCount - errors.Count} more lines were refused; the first {errors.Count} are listed."));
        }

        return errors;
    }

    private static string CodeOf(string why) =>
        why.StartsWith("not valid JSON", StringComparison.Ordinal) ? "invalid_json_line"
        : why.Contains(" is missing", StringComparison.Ordinal) ? "missing_required_parameter"
        : why.Contains(" is also on line ", StringComparison.Ordinal) ? "duplicate_custom_id"
        : "invalid_request";
}
