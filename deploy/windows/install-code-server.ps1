<#
.SYNOPSIS
  Installs the connector's Dagster code server as a Windows service on the machine next to Sage 50.

.DESCRIPTION
  The webserver and the daemon (Linux, deploy/docker-compose.yaml or the Helm chart) load the
  connector from this service, and every run of the sync executes here, where Sage's ODBC driver
  and Sage Data Objects (SDO) live. The service runs one command line:

    dagster code-server start -m pipelines.definitions -h 0.0.0.0 -p 4000

  What the machine needs first:
    - 64-bit Python 3.11 (python.org installer, "for all users") and uv (py -3.11 -m pip install uv);
    - the project copied to -ProjectDir, then `uv sync --frozen --no-dev` in it (the same
      uv.lock, so the same Dagster version, as the Linux hosts);
    - the Sage 50 ODBC driver, 64-bit (installed with Sage 50 Accounts; check it in
      "ODBC Data Sources (64-bit)"), and a DSN or a connection string for SAGE_ODBC_CONNECTION;
    - for writes back to Sage (customers, contacts, quotes): SDO registered
      (SDOEngine.<version> under HKLM\SOFTWARE\Sage\Line 50\SDO) and a Sage user for the connector;
    - port 4000 open to the Linux hosts only, and PostgreSQL (DAGSTER_PG_HOST:DAGSTER_PG_PORT)
      reachable from here: the run workers write their events to the instance directly;
    - DAGSTER_HOME holding deploy/dagster.yaml, and DAGSTER_COMPUTE_LOG_DIR on a share that the
      Linux hosts mount too.

  Why NSSM (the Non-Sucking Service Manager) rather than sc.exe: dagster is a console program,
  not a Windows service, so sc.exe cannot start it (the service control manager waits for a
  service answer that never comes). NSSM wraps it, restarts it when it exits (a code server that
  died with its runs comes back and the connector's sensor `free_dead_runs` frees their pools),
  passes the environment and writes stdout/stderr to rotating log files.

  Settings that are secrets (SSM keys, the ODBC password, the Postgres password) are read from a
  file readable by Administrators and the service account only (-EnvFile, KEY=VALUE lines, the
  same names as deploy/.env.example) and stored in the service's registry key by NSSM; they are
  never printed.

.EXAMPLE
  .\install-code-server.ps1 -ProjectDir C:\sage50-ssm -EnvFile C:\sage50-ssm\deploy\.env
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$ProjectDir,
    [Parameter(Mandatory = $true)][string]$EnvFile,
    [string]$ServiceName = "Sage50SsmCodeServer",
    [int]$Port = 4000,
    [string]$Nssm = "nssm.exe"
)
$ErrorActionPreference = "Stop"

if (-not [Environment]::Is64BitProcess) {
    throw "Run this from a 64-bit PowerShell: the Sage ODBC driver and Python must be 64-bit."
}
$dagster = Join-Path $ProjectDir ".venv\Scripts\dagster.exe"
if (-not (Test-Path $dagster)) {
    throw "No $dagster: run 'uv sync --frozen --no-dev' in $ProjectDir first."
}
$python = Join-Path $ProjectDir ".venv\Scripts\python.exe"
$bits = & $python -c "import struct, sys; print(struct.calcsize('P') * 8, sys.version_info[:2])"
if ($bits -notmatch "^64 \(3, 11\)") { throw "The project's Python is not 64-bit Python 3.11: $bits" }
$drivers = Get-OdbcDriver -Platform "64-bit" | Where-Object { $_.Name -match "Sage" }
if (-not $drivers) { Write-Warning "No 64-bit Sage ODBC driver is installed: reads will fail." }

# KEY=VALUE lines; blank lines and # comments skipped.
$settings = Get-Content $EnvFile | Where-Object { $_ -match "^\s*[A-Za-z_][A-Za-z0-9_]*=" }
$homeDir = Join-Path $ProjectDir "deploy\home"
New-Item -ItemType Directory -Force -Path $homeDir | Out-Null
Copy-Item (Join-Path $ProjectDir "deploy\dagster.yaml") $homeDir -Force
$logs = Join-Path $ProjectDir "data\logs"
New-Item -ItemType Directory -Force -Path $logs | Out-Null

& $Nssm install $ServiceName $dagster code-server start -m pipelines.definitions -h 0.0.0.0 -p $Port
& $Nssm set $ServiceName AppDirectory $ProjectDir
& $Nssm set $ServiceName AppEnvironmentExtra (@("DAGSTER_HOME=$homeDir", "PYTHONUNBUFFERED=1") + $settings)
& $Nssm set $ServiceName Start SERVICE_AUTO_START
& $Nssm set $ServiceName AppExit Default Restart
& $Nssm set $ServiceName AppRestartDelay 10000
& $Nssm set $ServiceName AppStdout (Join-Path $logs "code-server.log")
& $Nssm set $ServiceName AppStderr (Join-Path $logs "code-server.log")
& $Nssm set $ServiceName AppRotateFiles 1
& $Nssm set $ServiceName AppRotateBytes 10485760
& $Nssm start $ServiceName
Write-Host "Service $ServiceName serves the code location sage50_ssm on port $Port."
