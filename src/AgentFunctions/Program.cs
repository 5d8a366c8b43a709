using AgentFunctions;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

// The isolated worker with ASP.NET Core integration: HTTP triggers take HttpRequest and return IResult.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
AgentFunctionsStartup.ConfigureServices(builder.Services, builder.Configuration);
builder.Build().Run();
