using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using OrleansLlm.Api.Auth;
using OrleansLlm.Api.Errors;
using OrleansLlm.Queue;

namespace OrleansLlm.Api.Files;

/// <summary><c>/v1/files</c>: upload, list, describe, download and delete a tenant's files.</summary>
public static class FileEndpoints
{
    public const string Purpose = "batch";

    /// <summary>Room for the form's own bytes around the file; the file itself is counted as it is stored.</summary>
    private const long FormSlack = 1024 * 1024;

    private const int MaxListLimit = 10_000;

    public static RouteGroupBuilder MapFiles(this RouteGroupBuilder v1)
    {
        v1.MapPost("/files", UploadAsync);
        v1.MapGet("/files", ListAsync);
        v1.MapGet("/files/{id}", async (string id, HttpContext context, ApiFileStore files, CancellationToken ct) =>
            await FindAsync(files, context, id, ct) is { } file ? ApiResults.Json(FileJson.Of(file)) : ApiErrors.NotFound("File", id));
        v1.MapGet("/files/{id}/content", ContentAsync);
        v1.MapDelete("/files/{id}", async (string id, HttpContext context, ApiFileStore files, CancellationToken ct) =>
        {
            if (await FindAsync(files, context, id, ct) is not { } file)
            {
                return ApiErrors.NotFound("File", id);
            }

            await files.DeleteAsync(file, ct);
            return ApiResults.Json(new System.Text.Json.Nodes.JsonObject { ["id"] = id, ["object"] = "file", ["deleted"] = true });
        });
        return v1;
    }

    /// <summary>The caller's file; null for one that does not exist or that another tenant owns, which look the same.</summary>
    public static async Task<ApiFile?> FindAsync(ApiFileStore files, HttpContext context, string id, CancellationToken ct) =>
        await files.GetAsync(id, ct) is { } file && file.Tenant == context.Caller().Tenant ? file : null;

    private static async Task<IResult> UploadAsync(
        HttpContext context, ApiFileStore files, RedisMemory memory, IOptions<ApiOptions> options, TimeProvider time, CancellationToken ct)
    {
        if (await memory.RefusalAsync(ct) is { } full)
        {
            return ApiErrors.TooMany($"Files are refused for now: {full}.", "queue_full");
        }

        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type)
            || HeaderUtilities.RemoveQuotes(type.Boundary).Value is not { Length: > 0 } boundary)
        {
            return ApiErrors.BadRequest("Send the file as multipart/form-data, with the fields 'file' and 'purpose'.", "file");
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = options.Value.MaxFileBytes + FormSlack;
        }

        var form = new UploadForm();
        try
        {
            await form.ReadAsync(new MultipartReader(boundary, context.Request.Body), files, ct);
        }
        catch (Exception ex) when (ex is FileTooLargeException or BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge })
        {
            await form.DiscardAsync(files);
            await DrainAsync(context.Request.Body, ct);
            return ApiErrors.TooLarge(options.Value.MaxFileBytes);
        }

        if (form.Error() is { } error)
        {
            await form.DiscardAsync(files);
            return error;
        }

        var now = time.GetUtcNow();
        var (id, bytes, chunks) = form.Upload!.Value;
        var file = new ApiFile(id, context.Caller().Tenant, form.Filename!, Purpose, bytes, now, now + options.Value.FileTtl, Chunks: chunks);
        await files.CommitAsync(file, ct);
        return ApiResults.Json(FileJson.Of(file));
    }

    private static async Task<IResult> ListAsync(HttpContext context, ApiFileStore files, CancellationToken ct)
    {
        var query = context.Request.Query;
        if (Paging.Limit(query["limit"], 10_000, MaxListLimit) is not { } limit)
        {
            return ApiErrors.BadRequest($"limit must be a whole number from 1 to {MaxListLimit}.", "limit");
        }

        if (query["purpose"] is { Count: > 0 } purpose && purpose != Purpose && purpose != "batch_output")
        {
            return ApiResults.List([], hasMore: false);
        }

        var (found, hasMore) = await files.ListAsync(context.Caller().Tenant, query["after"], limit, query["order"] == "asc", ct);
        var data = found.Where(f => query["purpose"] is not { Count: > 0 } p || f.Purpose == p).Select(FileJson.Of).ToList();
        return ApiResults.List(data, hasMore);
    }

    private static async Task<IResult> ContentAsync(string id, HttpContext context, ApiFileStore files, IFileContent content, CancellationToken ct)
    {
        if (await FindAsync(files, context, id, ct) is not { } file)
        {
            return ApiErrors.NotFound("File", id);
        }

        if (file.Batch is null)
        {
            context.Response.ContentLength = file.Bytes;
            return Results.Stream(files.OpenRead(file), "application/octet-stream");
        }

        return Results.Stream(body => content.WriteAsync(file, body, ct), "application/octet-stream");
    }

    /// <summary>Reads what is left of a refused upload, so the client gets the answer rather than a reset connection.</summary>
    private static async Task DrainAsync(Stream body, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (await body.ReadAsync(buffer, ct) > 0)
            {
            }
        }
        catch (BadHttpRequestException)
        {
            // Past the request's size limit: Kestrel closes the connection after the answer.
        }
    }

    /// <summary>What the form carried: the file (stored as it is read) and its purpose, in either order.</summary>
    private sealed class UploadForm
    {
        public (string Id, long Bytes, int Chunks)? Upload { get; private set; }

        public string? Filename { get; private set; }

        private string? _purpose;

        public async Task ReadAsync(MultipartReader reader, ApiFileStore files, CancellationToken ct)
        {
            while (await reader.ReadNextSectionAsync(ct) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition))
                {
                    continue;
                }

                var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value;
                if (name == "file" && Upload is null)
                {
                    Filename = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value ?? "upload.jsonl";
                    Upload = await files.UploadAsync(section.Body, ct);
                }
                else if (name == "purpose")
                {
                    using var text = new StreamReader(section.Body);
                    var buffer = new char[64];
                    _purpose = new string(buffer, 0, await text.ReadBlockAsync(buffer, ct)).Trim();
                }
            }
        }

        public IResult? Error() =>
            Upload is null ? ApiErrors.BadRequest("The form has no 'file' field.", "file")
            : _purpose != Purpose ? ApiErrors.BadRequest($"purpose must be '{Purpose}' (was '{_purpose}'): this server takes batch input files only.", "purpose")
            : null;

        public Task DiscardAsync(ApiFileStore files) => Upload is { } upload ? files.DiscardAsync(upload.Id) : Task.CompletedTask;
    }
}
