using System.Text;
using OrleansLlm.Client;
using OrleansLlm.Client.Output;

namespace OrleansLlm.Silo.Batches;

/// <summary>
/// A batch's output file and error file, in OpenAI's batch format, written as <c>orleansllm results --format openai</c>
/// and <c>--errors</c> write them: streamed a page of results or dead letters at a time, never the whole file in memory.
/// </summary>
/// <remarks>
/// A running batch's output holds the results so far. Once the first bytes are sent the status can no longer say that
/// the file broke off (a grain call failed), so the connection is aborted instead: the download fails, rather than
/// looking complete.
/// </remarks>
public sealed partial class BatchFiles(IGrainFactory grains, ILogger<BatchFiles> logger)
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    public Task WriteOutputAsync(HttpContext http, string batchId) =>
        WriteAsync(http, batchId, "output", (output, ct) =>
            OpenAiResultWriter.WriteAsync(BatchResults.ReadAsync(grains.GetGrain<IBatchGrain>(batchId), ct), output, ct));

    public Task WriteErrorsAsync(HttpContext http, string batchId) =>
        WriteAsync(http, batchId, "error", (output, ct) =>
            OpenAiErrorWriter.WriteAsync(DeadLetters.ReadAsync(grains.GetGrain<IQueueGrain>(0), batchId, ct), output, ct));

    private async Task WriteAsync(HttpContext http, string batchId, string file, Func<TextWriter, CancellationToken, Task<int>> write)
    {
        var ct = http.RequestAborted;
        if (batchId != BatchIds.Default && !BatchIds.IsValid(batchId))
        {
            await Results.Text($"'{batchId}' is not a batch id.", statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(http);
            return;
        }

        if (!(await grains.GetGrain<IBatchGrain>(batchId).GetProgressAsync(ct)).Exists)
        {
            await Results.Text($"There is no batch {batchId}.", statusCode: StatusCodes.Status404NotFound).ExecuteAsync(http);
            return;
        }

        var response = http.Response;
        response.ContentType = "application/jsonl; charset=utf-8";
        response.Headers.ContentDisposition = $"attachment; filename=\"{batchId}_{file}.jsonl\"";
        response.Headers.XContentTypeOptions = "nosniff";
        try
        {
            await using var output = new StreamWriter(response.Body, Utf8, bufferSize: 64 * 1024);
            var lines = await write(output, ct);
            await output.FlushAsync(ct);
            LogWritten(logger, file, batchId, lines);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            LogBrokenOff(logger, ex, file, batchId);
            http.Abort();
        }
    }
}
