using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using OrleansLlm.Api.Auth;
using OrleansLlm.Api.Errors;
using OrleansLlm.Api.Files;
using OrleansLlm.Queue;

namespace OrleansLlm.Api.Batches;

/// <summary><c>/v1/batches</c>: create, list, describe, cancel and retry a tenant's batches.</summary>
public static class BatchEndpoints
{
    private const int MaxBodyBytes = 1024 * 1024;
    private const int MaxListLimit = 100;

    public static RouteGroupBuilder MapBatches(this RouteGroupBuilder v1)
    {
        v1.MapPost("/batches", CreateAsync);
        v1.MapGet("/batches", ListAsync);
        v1.MapGet("/batches/{id}", (string id, HttpContext context, IGrainFactory grains, CancellationToken ct) =>
            AnswerAsync(id, () => Grain(grains, id).GetAsync(context.Caller().Tenant, ct)));
        v1.MapPost("/batches/{id}/cancel", (string id, HttpContext context, IGrainFactory grains, CancellationToken ct) =>
            AnswerAsync(id, () => Grain(grains, id).CancelAsync(context.Caller().Tenant, ct)));
        // An extension of OpenAI's API: the failed requests (dead letters) go back in the queue, as 'orleansllm retry'.
        v1.MapPost("/batches/{id}/retry", (string id, HttpContext context, IGrainFactory grains, CancellationToken ct) =>
            AnswerAsync(id, () => Grain(grains, id).RetryAsync(context.Caller().Tenant, ct)));
        return v1;
    }

    private static IOpenAiBatchGrain Grain(IGrainFactory grains, string id) => grains.GetGrain<IOpenAiBatchGrain>(id);

    private static async Task<IResult> AnswerAsync(string id, Func<Task<OpenAiBatchView?>> call)
    {
        if (!id.StartsWith(OpenAiBatchGrain.BatchIdPrefix, StringComparison.Ordinal) || !BatchIds.IsValid(id))
        {
            return ApiErrors.NotFound("batch", id);
        }

        try
        {
            return await call() is { } view ? ApiResults.Json(BatchJson.Of(view)) : ApiErrors.NotFound("batch", id);
        }
        catch (InvalidOperationException ex)
        {
            return ApiErrors.Conflict(ex.Message);
        }
    }

    private static async Task<IResult> CreateAsync(
        HttpContext context, IGrainFactory grains, ApiFileStore files, ApiBatchStore batches, RedisMemory memory, IOptions<ApiOptions> options, CancellationToken ct)
    {
        var caller = context.Caller();
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = MaxBodyBytes;
        }

        JsonElement root;
        try
        {
            using var doc = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: ct);
            root = doc.RootElement.Clone();
        }
        catch (Exception ex) when (ex is JsonException or BadHttpRequestException)
        {
            return ApiErrors.BadRequest($"The body is not a JSON object this server can read: {ex.Message}");
        }

        var (body, param, error) = CreateBatchBody.Read(root);
        if (body is null)
        {
            return ApiErrors.BadRequest(error!, param);
        }

        if (BatchMetadata.Read(body.Metadata) is { Metadata: null } refused)
        {
            return ApiErrors.BadRequest(refused.Error!, refused.Param);
        }

        if (await files.GetAsync(body.InputFileId, ct) is not { Batch: null } file || file.Tenant != caller.Tenant)
        {
            return ApiErrors.NotFound("File", body.InputFileId, "input_file_id");
        }

        if (await batches.RunningAsync(caller.KeyId, ct) is var running && running >= options.Value.MaxBatchesInProgressPerKey)
        {
            return ApiErrors.TooMany($"This key has {running} batches validating or in progress, as many as it may (Api:MaxBatchesInProgressPerKey); wait for one to end.", "batch_limit_exceeded");
        }

        if (await memory.RefusalAsync(ct) is { } full)
        {
            return ApiErrors.TooMany($"Batches are refused for now: {full}.", "queue_full");
        }

        var id = $"{OpenAiBatchGrain.BatchIdPrefix}{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}";
        var request = new OpenAiBatchRequest(caller.Tenant, caller.KeyId, file.Id, body.Endpoint, body.CompletionWindow, body.Window, body.Metadata);
        return ApiResults.Json(BatchJson.Of(await Grain(grains, id).CreateAsync(request, ct)));
    }

    private static async Task<IResult> ListAsync(HttpContext context, IGrainFactory grains, ApiBatchStore batches, CancellationToken ct)
    {
        var tenant = context.Caller().Tenant;
        if (Paging.Limit(context.Request.Query["limit"], 20, MaxListLimit) is not { } limit)
        {
            return ApiErrors.BadRequest($"limit must be a whole number from 1 to {MaxListLimit}.", "limit");
        }

        var (ids, hasMore) = await batches.ListAsync(tenant, context.Request.Query["after"], limit, ct);
        var data = new List<JsonObject>();
        foreach (var id in ids)
        {
            if (await Grain(grains, id).GetAsync(tenant, ct) is { } view)
            {
                data.Add(BatchJson.Of(view));
            }
            else
            {
                await batches.ForgetAsync(tenant, id);
            }
        }

        return ApiResults.List(data, hasMore);
    }
}
